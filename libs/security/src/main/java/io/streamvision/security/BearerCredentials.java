package io.streamvision.security;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * Sends {@code authorization: Bearer <token>} on every call of a gRPC channel: a fixed token, or
 * the content of a token file read again when it changes (a rotated Kubernetes Secret). Used by
 * captioning towards scoring and by the {@code vision} command.
 */
public final class BearerCredentials implements ClientInterceptor {

    private final Supplier<String> token;

    private BearerCredentials(Supplier<String> token) {
        this.token = token;
    }

    /** A fixed token. */
    public static BearerCredentials of(String token) {
        String value = token.trim();
        return new BearerCredentials(() -> value);
    }

    /** The token in a file (surrounding white space ignored). */
    public static BearerCredentials fromFile(Path file) {
        WatchedFile<String> watched = new WatchedFile<>(file, text -> {
            String value = text.trim();
            if (value.isEmpty()) {
                throw new IllegalArgumentException("the token file is empty");
            }
            return value;
        });
        return new BearerCredentials(watched::get);
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
            @Override
            public void start(Listener<R> listener, Metadata headers) {
                headers.put(GrpcAuthInterceptor.AUTHORIZATION, "Bearer " + token.get());
                super.start(listener, headers);
            }
        };
    }
}
