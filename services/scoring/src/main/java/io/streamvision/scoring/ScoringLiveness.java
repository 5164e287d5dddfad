package io.streamvision.scoring;

import io.streamvision.kafka.LoopsLiveness;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.Liveness;

/** DOWN when one of the service's transactional loops stopped as FAILED ({@link LoopsLiveness}). */
@Liveness
@ApplicationScoped
public class ScoringLiveness extends LoopsLiveness {}
