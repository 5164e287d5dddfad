package io.streamvision.captioning.grpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.MethodDescriptor;
import io.quarkus.grpc.GlobalInterceptor;
import io.streamvision.captioning.CaptioningConfig;
import io.streamvision.security.BearerCredentials;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * The token the captioning service sends on its calls to the scoring service ({@code
 * vision.captioning.scoring-token-file}; TLS towards scoring is the TLS registry's configuration named by {@code
 * quarkus.grpc.clients.scoring.tls-configuration-name}, README "Security").
 */
@ApplicationScoped
@GlobalInterceptor
public class CaptioningSecurity implements ClientInterceptor {

    private final ClientInterceptor credentials;

    @Inject
    public CaptioningSecurity(CaptioningConfig config) {
        this.credentials = config.scoringTokenFile()
                .<ClientInterceptor>map(BearerCredentials::fromFile)
                .orElse(null);
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return credentials == null ? next.newCall(method, options) : credentials.interceptCall(method, options, next);
    }
}
