package io.streamvision.captioning.grpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.MethodDescriptor;
import io.quarkus.grpc.GlobalInterceptor;
import io.quarkus.runtime.Startup;
import io.streamvision.captioning.CaptioningConfig;
import io.streamvision.security.Authenticator;
import io.streamvision.security.BearerCredentials;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

/**
 * Security of the captioning service: the token checks of its own endpoints ({@code
 * vision.captioning.auth.*}) and the token it sends on its calls to the scoring service ({@code
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

    @Produces
    @Singleton
    @Startup
    static Authenticator authenticator(CaptioningConfig config) {
        return Authenticator.of(config);
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return credentials == null ? next.newCall(method, options) : credentials.interceptCall(method, options, next);
    }
}
