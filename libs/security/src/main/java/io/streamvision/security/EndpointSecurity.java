package io.streamvision.security;

import io.quarkus.runtime.Startup;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * The token checks of a service's endpoints, from its configuration mapping (which extends {@link
 * EndpointSecurityConfig}); made when the application starts, so a bad key file stops it at once.
 * A service without endpoints to protect (preprocess) gets {@link Authenticator#OFF}.
 */
public class EndpointSecurity {

    @Produces
    @Singleton
    @Startup
    static Authenticator authenticator(Instance<EndpointSecurityConfig> config) {
        return config.isResolvable() ? Authenticator.of(config.get()) : Authenticator.OFF;
    }
}
