package io.streamvision.security;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * Checks every HTTP request on the service's main port (REST inference, {@code /videos}) the way
 * {@link GrpcAuthInterceptor} checks gRPC calls: 401 with {@code WWW-Authenticate: Bearer} without a
 * valid token, 403 without the group, each with the protocol's {@code {"error": "..."}} body.
 * Health and metrics stay open for the kubelet and Prometheus.
 */
@ApplicationScoped
public class HttpAuthFilter {

    /** Before the REST layer and the health handlers. */
    private static final int PRIORITY = 1000;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    Authenticator authenticator;

    void register(@Observes Filters filters) {
        filters.register(this::filter, PRIORITY);
    }

    private void filter(RoutingContext rc) {
        String path = rc.normalizedPath();
        Optional<Group> group = Permissions.forHttp(rc.request().method().name(), path);
        if (authenticator.requiresClientCertificate() && !hasClientCertificate(rc)) {
            deny(
                    rc,
                    new AccessDeniedException(false, "this endpoint needs a TLS client certificate of the trusted CA"));
            return;
        }
        if (!authenticator.enabled() || group.isEmpty()) {
            rc.next();
            return;
        }
        try {
            authenticator.authorize(
                    rc.request().getHeader(HttpHeaders.AUTHORIZATION),
                    group.get(),
                    rc.request().method() + " " + path);
            rc.next();
        } catch (AccessDeniedException e) {
            deny(rc, e);
        }
    }

    private static boolean hasClientCertificate(RoutingContext rc) {
        if (!rc.request().isSSL()) {
            return false;
        }
        try {
            return rc.request().connection().sslSession().getPeerCertificates().length > 0;
        } catch (SSLPeerUnverifiedException | RuntimeException none) {
            return false;
        }
    }

    private static void deny(RoutingContext rc, AccessDeniedException e) {
        var response = rc.response();
        if (!e.authenticated()) {
            response.putHeader("WWW-Authenticate", "Bearer realm=\"streamvision\"");
        }
        String body;
        try {
            body = JSON.writeValueAsString(JsonNodeFactory.instance.objectNode().put("error", e.getMessage()));
        } catch (Exception json) {
            body = "{\"error\": \"access denied\"}";
        }
        response.setStatusCode(e.authenticated() ? 403 : 401)
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .end(body);
    }
}
