package io.streamvision.captioning.streams;

import io.streamvision.kafka.StreamThreadReplacement;
import jakarta.inject.Singleton;

/**
 * The results application's answer to a dead stream thread: replaced when the cluster killed it,
 * the application ended otherwise (see {@link StreamThreadReplacement}).
 */
@Singleton
public class StreamThreads extends StreamThreadReplacement {}
