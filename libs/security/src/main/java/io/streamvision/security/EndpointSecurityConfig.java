package io.streamvision.security;

import io.smallrye.config.WithDefault;

/**
 * Settings of a service with gRPC or REST endpoints: {@code <prefix>.auth.*}, {@code <prefix>.tls.*}
 * and {@code <prefix>.grpc.*}.
 */
public interface EndpointSecurityConfig {

    /** Limits of the gRPC server beyond Quarkus's own {@code quarkus.grpc.server.*}. */
    Grpc grpc();

    /** {@code <prefix>.grpc.*}. */
    interface Grpc {
        /**
         * The most calls one client connection may have open at once (HTTP/2 {@code
         * SETTINGS_MAX_CONCURRENT_STREAMS}); a client that opens more waits for one to finish, so
         * one connection cannot take every worker. 100 is HTTP/2's recommended minimum.
         */
        @WithDefault("100")
        int maxConcurrentCallsPerConnection();
    }

    /** Token authentication of the endpoints. */
    AuthConfig auth();

    /** Client certificates on the TLS endpoints. */
    Tls tls();

    /** {@code <prefix>.tls.*}: the certificates themselves are Quarkus's TLS registry's (README, Security). */
    interface Tls {
        /**
         * {@code required}: every HTTPS request and gRPC call must present a client certificate of
         * the trusted CA (mTLS); {@code none}: none asked for. gRPC reads it through {@code
         * quarkus.grpc.server.ssl.client-auth}; HTTPS asks for certificates at the handshake and
         * refuses a request without one.
         */
        @WithDefault("none")
        String clientAuth();
    }
}
