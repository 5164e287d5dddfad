package io.streamvision.security;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Checks every gRPC call's {@code authorization} metadata against the group its method needs:
 * {@code UNAUTHENTICATED} without a valid token, {@code PERMISSION_DENIED} without the group. A
 * service without an {@link Authenticator}
 * bean, or with authentication off, lets every call through.
 */
@ApplicationScoped
@GlobalInterceptor
public class GrpcAuthInterceptor implements ServerInterceptor {

    static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private static final Logger LOG = Logger.getLogger(GrpcAuthInterceptor.class);

    @Inject
    Authenticator authenticator;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        Optional<Group> group = Permissions.forGrpc(method);
        if (!authenticator.enabled() || group.isEmpty()) {
            return next.startCall(call, headers);
        }
        try {
            authenticator.authorize(headers.get(AUTHORIZATION), group.get(), method);
            return next.startCall(call, headers);
        } catch (AccessDeniedException e) {
            LOG.debugf("refused %s: %s", method, e.getMessage());
            Status status = e.authenticated() ? Status.PERMISSION_DENIED : Status.UNAUTHENTICATED;
            call.close(status.withDescription(e.getMessage()), new Metadata());
            return new ServerCall.Listener<>() {};
        }
    }
}
