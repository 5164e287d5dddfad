package io.streamvision.security;

import io.smallrye.config.WithDefault;

/** Settings of a service with gRPC or REST endpoints: {@code <prefix>.auth.*} and {@code <prefix>.tls.*}. */
public interface EndpointSecurityConfig {

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
