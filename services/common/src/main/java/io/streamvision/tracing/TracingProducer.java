package io.streamvision.tracing;

import io.opentelemetry.api.OpenTelemetry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * The services' {@link RecordTracing}: on the OpenTelemetry of the Quarkus extension where a
 * service has it ({@code quarkus.otel.*}; off unless {@code quarkus.otel.sdk.disabled=false}), else
 * {@link RecordTracing#OFF}.
 */
@ApplicationScoped
public class TracingProducer {

    @Produces
    @Singleton
    RecordTracing recordTracing(Instance<OpenTelemetry> otel) {
        return otel.isResolvable() ? new RecordTracing(otel.get()) : RecordTracing.OFF;
    }
}
