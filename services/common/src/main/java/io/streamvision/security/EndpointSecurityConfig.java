package io.streamvision.security;

/** Settings of a service with gRPC or REST endpoints: {@code <prefix>.auth.*}. */
public interface EndpointSecurityConfig {

    /** Token authentication of the endpoints. */
    AuthConfig auth();
}
