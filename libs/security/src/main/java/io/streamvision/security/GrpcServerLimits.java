package io.streamvision.security;

import io.quarkus.arc.Unremovable;
import io.quarkus.grpc.api.ServerBuilderCustomizer;
import io.quarkus.grpc.runtime.config.GrpcServerConfiguration;
import io.vertx.grpc.VertxServerBuilder;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

/**
 * Applies {@code <prefix>.grpc.max-concurrent-calls-per-connection} to the separate gRPC server,
 * which Quarkus offers no setting for: the server announces it in its HTTP/2 settings and refuses
 * streams beyond it.
 */
@ApplicationScoped
@Unremovable
public class GrpcServerLimits implements ServerBuilderCustomizer<VertxServerBuilder> {

    @Inject
    Instance<EndpointSecurityConfig> endpoints;

    @Override
    public void customize(GrpcServerConfiguration config, VertxServerBuilder builder) {
        if (endpoints.isResolvable()) {
            builder.nettyBuilder()
                    .maxConcurrentCallsPerConnection(endpoints.get().grpc().maxConcurrentCallsPerConnection());
        }
    }
}
