package io.streamvision.preprocess.videos;

import io.streamvision.kafka.LoopReadiness;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness of the video loops ({@link VideoLoops}): UP when the planner and every segment loop run
 * (or videos are off), with their state and counters in the check's data (the segment loops'
 * summed under {@code segments-}, see {@link LoopReadiness}).
 */
@ApplicationScoped
@Readiness
public class VideoReadiness implements HealthCheck {

    @Inject
    VideoLoops loops;

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder response = HealthCheckResponse.named("videos");
        boolean ready = LoopReadiness.report(loops.planner(), "planner", response)
                & LoopReadiness.report(loops.segments(), "segments", response);
        return response.status(ready).build();
    }
}
