package io.streamvision.preprocess.streams;

import io.streamvision.kafka.StreamThreadReplacement;
import jakarta.inject.Singleton;

/**
 * The images application's answer to a dead stream thread: replaced when the cluster killed it,
 * the application ended otherwise (see {@link StreamThreadReplacement}).
 */
@Singleton
public class StreamThreads extends StreamThreadReplacement {}
