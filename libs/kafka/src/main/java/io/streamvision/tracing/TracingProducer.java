package io.streamvision.tracing;

import io.opentelemetry.api.OpenTelemetry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The services' {@link RecordTracing}: on the OpenTelemetry of the Quarkus extension where a
 * service has it and tracing is on ({@code quarkus.otel.sdk.disabled=false}), else {@link
 * RecordTracing#OFF}. A disabled SDK still makes (unexported) spans with ids of their own, which
 * would rewrite every record's {@code traceparent}; off, the headers pass through as they came.
 */
@ApplicationScoped
public class TracingProducer {

    @Produces
    @Singleton
    RecordTracing recordTracing(
            Instance<OpenTelemetry> otel,
            @ConfigProperty(name = "quarkus.otel.sdk.disabled", defaultValue = "true") boolean disabled) {
        return !disabled && otel.isResolvable() ? new RecordTracing(otel.get()) : RecordTracing.OFF;
    }
}
