package io.streamvision.security;

import java.util.Locale;

/** Permission groups a token carries; each endpoint needs one of them. */
public enum Group {
    /** ModelInfer, Classify, Caption, Describe, video summaries and REST inference. */
    INFERENCE,
    /** Server and model health and metadata of the protocol (not the /q health of the kubelet). */
    METADATA,
    /** Model control and anything not listed. */
    ADMIN;

    /** The name tokens use. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
