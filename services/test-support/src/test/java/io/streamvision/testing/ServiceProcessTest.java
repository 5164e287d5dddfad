package io.streamvision.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ServiceProcessTest {

    private static final String METRICS = String.join(
            "\n",
            "# TYPE vision_inference_count_total counter",
            "vision_inference_count_total{model=\"fashion-cnn\",version=\"1\"} 120.0",
            "vision_inference_count_total{model=\"fashion-cnn\",version=\"2\"} 30.0",
            "vision_inference_count_total{model=\"caption-encoder\",version=\"1\"} 7.0",
            "vision_inference_count_total_extra{model=\"fashion-cnn\",version=\"1\"} 1000.0",
            "process_uptime_seconds 12.5");

    @Test
    void sumsTheSeriesWithEveryLabelGiven() {
        assertEquals(157.0, ServiceProcess.metricSum(METRICS, "vision_inference_count_total"));
        assertEquals(150.0, ServiceProcess.metricSum(METRICS, "vision_inference_count_total", "model=\"fashion-cnn\""));
        assertEquals(
                30.0,
                ServiceProcess.metricSum(
                        METRICS, "vision_inference_count_total", "model=\"fashion-cnn\"", "version=\"2\""));
        assertEquals(12.5, ServiceProcess.metricSum(METRICS, "process_uptime_seconds"));
        assertEquals(0.0, ServiceProcess.metricSum(METRICS, "vision_inference_count_total", "model=\"lenet\""));
    }
}
