package io.streamvision.scoring;

/** The name and version the scoring service reports in OIP server metadata (gRPC and REST). */
public final class ServerInfo {

    /** Server name in {@code ServerMetadata}. */
    public static final String NAME = "streamvision-scoring";

    /** Server version in {@code ServerMetadata}. */
    public static final String VERSION = "0.1.0";

    private ServerInfo() {}
}
