package io.streamvision.preprocess.videos;

import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.Topics;
import io.streamvision.preprocess.ImageModels;
import io.streamvision.video.VideoFrameReader;
import io.streamvision.video.VideoSources;

/**
 * What the video planner and the segment decoder share: the topics they read and write, dead
 * letters, the image models frames are scored by, where a request's video may come from, and the
 * reader that probes and decodes it. Both stages of one service get the same instance.
 */
public record VideoStage(
        Topics topics, DeadLetters deadLetters, ImageModels models, VideoSources sources, VideoFrameReader reader) {}
