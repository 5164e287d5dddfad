package io.streamvision.security;

import io.quarkus.arc.Unremovable;
import io.quarkus.grpc.api.ServerBuilderCustomizer;
import io.quarkus.grpc.runtime.config.GrpcServerConfiguration;
import io.quarkus.tls.TlsConfiguration;
import io.quarkus.tls.TlsConfigurationRegistry;
import io.vertx.core.net.TrustOptions;
import io.vertx.grpc.VertxServerBuilder;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Gives the separate gRPC server the TLS configuration of the HTTP server, from Quarkus's TLS
 * registry (the default {@code quarkus.tls.*}, or the one {@code quarkus.http.tls-configuration-name}
 * names): its key store as the server certificate and its trust store as the CA of client
 * certificates. Quarkus's gRPC server reads only its own {@code quarkus.grpc.server.ssl.*} keys,
 * which take no PEM trust store; with this, one set of certificate files serves both ports. It
 * applies when {@code quarkus.grpc.server.plain-text=false} and no {@code ssl.certificate} or
 * {@code ssl.key-store} is given; {@code quarkus.grpc.server.ssl.client-auth} still says whether a
 * client certificate is required.
 */
@ApplicationScoped
@Unremovable
public class GrpcServerTls implements ServerBuilderCustomizer<VertxServerBuilder> {

    private static final Logger LOG = Logger.getLogger(GrpcServerTls.class);

    @Inject
    TlsConfigurationRegistry registry;

    @ConfigProperty(name = "quarkus.http.tls-configuration-name")
    Optional<String> httpTlsName;

    @Override
    public void customize(GrpcServerConfiguration config, VertxServerBuilder builder) {
        if (config.plainText()
                || config.ssl().certificate().isPresent()
                || config.ssl().keyStore().isPresent()) {
            return;
        }
        TlsConfiguration tls = (httpTlsName.isPresent()
                        ? TlsConfiguration.from(registry, httpTlsName)
                        : registry.getDefault())
                .filter(t -> t.getKeyStoreOptions() != null)
                .orElseThrow(() ->
                        new IllegalStateException("quarkus.grpc.server.plain-text=false needs a server certificate: set"
                                + " quarkus.tls.server.key-store.pem.0.cert and .key and"
                                + " quarkus.http.tls-configuration-name=server (README, Security)"));
        TrustOptions clientCa = tls.getTrustStoreOptions();
        builder.useSsl(options -> {
            options.setSsl(true);
            options.setKeyCertOptions(tls.getKeyStoreOptions());
            if (clientCa != null) {
                options.setTrustOptions(clientCa);
            }
        });
        LOG.infof(
                "gRPC over TLS with the certificate of TLS configuration '%s'%s",
                tls.getName(), clientCa == null ? "" : ", client certificates checked against its trust store");
    }
}
