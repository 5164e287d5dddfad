package io.streamvision.helm;

import static io.streamvision.helm.Chart.COMPONENTS;
import static io.streamvision.helm.Chart.chart;
import static io.streamvision.helm.Chart.fullname;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * TLS, client certificates, tokens and NetworkPolicies from values/secured.yaml: the Quarkus
 * settings each service gets, the Secrets it mounts, probes and metrics on the plain management
 * port, and no secret in any rendered value.
 */
class EndpointSecurityTest {

    private static final Manifests SECURED = chart().values("secured.yaml").render();

    @Test
    void bothApiServicesServeTlsWithClientCertificatesFromTheSecret() {
        for (String component : List.of("scoring", "captioning")) {
            Map<String, String> config = SECURED.config(component);
            assertEquals("/etc/streamvision/tls/tls.crt", config.get("QUARKUS_TLS_SERVER_KEY_STORE_PEM_0_CERT"));
            assertEquals("/etc/streamvision/tls/tls.key", config.get("QUARKUS_TLS_SERVER_KEY_STORE_PEM_0_KEY"));
            assertEquals("/etc/streamvision/tls/ca.crt", config.get("QUARKUS_TLS_SERVER_TRUST_STORE_PEM_CERTS"));
            assertEquals("server", config.get("QUARKUS_HTTP_TLS_CONFIGURATION_NAME"));
            assertEquals("disabled", config.get("QUARKUS_HTTP_INSECURE_REQUESTS"));
            assertEquals(
                    config.get("QUARKUS_HTTP_PORT"), config.get("QUARKUS_HTTP_SSL_PORT"), "HTTPS on the http port");
            assertEquals("false", config.get("QUARKUS_GRPC_SERVER_PLAIN_TEXT"));
            assertEquals("required", config.get("VISION_" + component.toUpperCase() + "_TLS_CLIENT_AUTH"));
            SECURED.assertSecretMount(component, "endpoint-tls", "vision-tls", "/etc/streamvision/tls");
        }
        Map<String, String> captioning = SECURED.config("captioning");
        assertEquals("scoring", captioning.get("QUARKUS_GRPC_CLIENTS_SCORING_TLS_CONFIGURATION_NAME"));
        assertEquals("true", captioning.get("QUARKUS_GRPC_CLIENTS_SCORING_USE_QUARKUS_GRPC_CLIENT"));
        assertEquals("false", captioning.get("QUARKUS_GRPC_CLIENTS_SCORING_PLAIN_TEXT"));
        assertEquals("/etc/streamvision/tls/ca.crt", captioning.get("QUARKUS_TLS_SCORING_TRUST_STORE_PEM_CERTS"));
        assertEquals("/etc/streamvision/tls/tls.crt", captioning.get("QUARKUS_TLS_SCORING_KEY_STORE_PEM_0_CERT"));
        assertTrue(SECURED.config("preprocess").keySet().stream().noneMatch(k -> k.startsWith("QUARKUS_TLS_")));
    }

    @Test
    void tokensAreCheckedWithKeysFromSecrets() {
        for (String component : List.of("scoring", "captioning")) {
            Map<String, String> config = SECURED.config(component);
            String prefix = "VISION_" + component.toUpperCase() + "_AUTH_";
            assertEquals("true", config.get(prefix + "ENABLED"));
            assertEquals("/etc/streamvision/auth/jwt/public-key.pem", config.get(prefix + "JWT_PUBLIC_KEY"));
            assertEquals("https://login.example.com", config.get(prefix + "ISSUER"));
            assertEquals("/etc/streamvision/auth/api-keys/api-keys", config.get(prefix + "API_KEYS"));
            SECURED.assertSecretMount(component, "auth-jwt", "vision-jwt", "/etc/streamvision/auth/jwt");
            SECURED.assertSecretMount(component, "auth-api-keys", "vision-api-keys", "/etc/streamvision/auth/api-keys");
        }
        assertEquals(
                "/etc/streamvision/auth/scoring-token/token",
                SECURED.config("captioning").get("VISION_CAPTIONING_SCORING_TOKEN_FILE"));
        SECURED.assertSecretMount(
                "captioning", "scoring-token", "vision-captioning-token", "/etc/streamvision/auth/scoring-token");
        // Secrets reach the pods only as mounted Secrets, never as rendered values.
        for (JsonNode configMap : SECURED.ofKind("ConfigMap")) {
            assertFalse(configMap.toString().contains("BEGIN"), configMap.toString());
        }
    }

    @Test
    void probesAndMetricsUseThePlainManagementPort() {
        for (String component : COMPONENTS) {
            String health = component.equals("preprocess") ? "http" : "management";
            JsonNode container = SECURED.container(component);
            for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
                assertEquals(health, container.at("/" + probe + "/httpGet/port").asText(), component + " " + probe);
                assertFalse(
                        container.at("/" + probe + "/httpGet/scheme").asText().equals("HTTPS"));
            }
            JsonNode monitor = SECURED.get("ServiceMonitor", fullname(component));
            assertEquals(health, monitor.at("/spec/endpoints/0/port").asText());
        }
        assertEquals(8092, SECURED.containerPort("scoring", "management"));
        assertEquals("8092", SECURED.config("scoring").get("QUARKUS_MANAGEMENT_PORT"));
    }

    @Test
    void networkPoliciesAdmitOnlyTheServicesPorts() {
        JsonNode scoring = SECURED.get("NetworkPolicy", fullname("scoring"));
        List<String> ports = new ArrayList<>();
        for (JsonNode rule : scoring.at("/spec/ingress")) {
            rule.path("ports").forEach(p -> ports.add(p.path("port").asText()));
        }
        assertEquals(List.of("management", "http", "grpc"), ports);
        JsonNode api = scoring.at("/spec/ingress/1/from");
        assertEquals(
                "clients",
                api.at("/0/namespaceSelector/matchLabels/kubernetes.io~1metadata.name")
                        .asText());
        Manifests.assertSelects(
                api.at("/1/podSelector/matchLabels"),
                SECURED.deployment("captioning").at("/spec/template/metadata/labels"),
                "captioning may call scoring");
        assertEquals(
                "monitoring",
                scoring.at("/spec/ingress/0/from/0/namespaceSelector/matchLabels/kubernetes.io~1metadata.name")
                        .asText());
        JsonNode preprocess = SECURED.get("NetworkPolicy", fullname("preprocess"));
        assertEquals(1, preprocess.at("/spec/ingress").size());
        assertTrue(chart().render().ofKind("NetworkPolicy").isEmpty(), "off by default");
    }
}
