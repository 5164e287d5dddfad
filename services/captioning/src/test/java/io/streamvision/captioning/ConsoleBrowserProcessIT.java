package io.streamvision.captioning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestModels;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console in a real browser (Debian's headless Chromium through its ChromeDriver), against
 * the three packaged services: an image, a file that is not an image, the sample video and a real
 * photograph are uploaded through the page (to the models it ticks at first: the COCO detector,
 * the demo classifier and the caption encoder), and the page shows the image's caption and labels,
 * the bad file's dead letter, the video's timeline and the photograph with the detector's boxes
 * and labels drawn over it and fashion-cnn's answer greyed as out of its domain, live. Leaves a screenshot at {@code target/console-screenshot.png}.
 */
@ExtendWith(KafkaBrokerExtension.class)
class ConsoleBrowserProcessIT {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    @Test
    void uploadsThroughThePageAndWatchesResultsDeadLettersAndTimelines() throws Exception {
        assumeTrue(
                Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver;"
                        + " .ci/run installs them)");
        Path root = TestModels.dir().getParent();
        Path work = Files.createTempDirectory("console-");
        Path image = Files.copy(
                root.resolve("samples/items/8-bag-test18.png"),
                work.resolve("bag.png"),
                StandardCopyOption.REPLACE_EXISTING);
        Path bad =
                Files.writeString(work.resolve("not-an-image.png"), "this is text, not a PNG", StandardCharsets.UTF_8);
        Path video = Files.copy(root.resolve("samples/video.mp4"), work.resolve("clip.mp4"));
        Path photo = Files.copy(root.resolve("samples/photos/person.jpg"), work.resolve("walk.jpg"));

        try (ThreeServices services =
                new ThreeServices(TestBrokers.shared(), ".it-console", "it-console", 18240, Map.of())) {
            ChromeOptions options = new ChromeOptions();
            options.setBinary(CHROMIUM.toFile());
            options.addArguments(
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1400,1000",
                    "--user-data-dir=" + Files.createTempDirectory("chromium-profile"));
            ChromeDriverService driverService = new ChromeDriverService.Builder()
                    .usingDriverExecutable(CHROMEDRIVER.toFile())
                    .usingAnyFreePort()
                    .build();
            WebDriver browser = new ChromeDriver(driverService, options);
            try {
                browser.get("http://localhost:" + services.captioningHttpPort() + "/");
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(180), Duration.ofMillis(250));
                // The status strip is redrawn every few seconds.
                wait.ignoring(StaleElementReferenceException.class);
                wait.until(
                        b -> b.findElements(By.cssSelector("#status .svc.up")).size() == 3);

                WebElement upload = browser.findElement(By.id("upload"));
                wait.until(b ->
                        b.findElements(By.cssSelector("#models input:checked")).size() == 3);
                for (Path file : List.of(image, bad, video, photo)) {
                    upload.sendKeys(file.toString());
                    String name = file.getFileName().toString();
                    wait.until(b -> b.findElements(By.cssSelector("#uploads li[data-id]")).stream()
                            .anyMatch(li -> li.getText().startsWith(name)));
                }

                WebElement result;
                try {
                    result = wait.until(b -> b.findElements(By.cssSelector("#results .result")).stream()
                            .filter(r -> r.getAttribute("data-id").startsWith("console-bag-"))
                            .findFirst()
                            .orElse(null));
                } catch (org.openqa.selenium.TimeoutException e) {
                    System.out.println("[console IT] no result for the bag; the page says:\n"
                            + browser.findElement(By.tagName("body")).getText());
                    throw e;
                }
                String caption = result.findElement(By.className("caption")).getText();
                assertFalse(caption.isBlank() || caption.equals("(no caption)"), "a caption: " + result.getText());
                List<WebElement> labels = result.findElements(By.className("label"));
                assertFalse(labels.isEmpty(), "labels with bars: " + result.getText());
                assertEquals(
                        "Bag", labels.get(0).findElement(By.tagName("span")).getText(), result.getText());
                assertFalse(result.findElements(By.tagName("img")).isEmpty(), "the uploaded image as thumbnail");

                WebElement letter = wait.until(b -> b.findElements(By.cssSelector("#dead tbody tr")).stream()
                        .filter(r -> r.getAttribute("data-id").startsWith("console-not-an-image-"))
                        .findFirst()
                        .orElse(null));
                String reason = letter.findElement(By.tagName("td")).getText();
                assertTrue(
                        reason.equals("CORRUPT_IMAGE") || reason.equals("UNSUPPORTED_FORMAT"),
                        "the bad file's reason: " + letter.getText());
                assertTrue(browser.findElement(By.id("dead-counts")).getText().contains(reason), "counted per reason");

                WebElement timeline = wait.until(b -> b.findElements(By.cssSelector("#videos .video")).stream()
                        .filter(v -> v.getAttribute("data-id").startsWith("console-clip-"))
                        .filter(v -> !v.findElements(By.cssSelector(".timeline[data-model='fashion-cnn'] .seg"))
                                .isEmpty())
                        .findFirst()
                        .orElse(null));
                assertTrue(timeline.getText().contains("COMPLETE"), timeline.getText());
                String hover = timeline.findElement(By.cssSelector(".timeline[data-model='fashion-cnn'] .seg"))
                        .getAttribute("title");
                assertTrue(hover.contains("frames") && hover.contains("confidence"), "hover details: " + hover);

                // The photograph, with a box and a label over it for each object the detector found.
                WebElement boxed = wait.until(b -> b.findElements(By.cssSelector("#results .result")).stream()
                        .filter(r -> r.getAttribute("data-id").startsWith("console-walk-"))
                        .findFirst()
                        .orElse(null));
                List<String> drawn = boxed.findElements(By.cssSelector(".boxed .box")).stream()
                        .map(b -> b.getAttribute("data-label"))
                        .toList();
                assertTrue(drawn.containsAll(List.of("person", "dog")), "boxes drawn: " + drawn);
                WebElement personBox = boxed.findElement(By.cssSelector(".boxed .box[data-label='person']"));
                WebElement picture = boxed.findElement(By.cssSelector(".boxed img"));
                assertTrue(
                        personBox.getSize().getHeight() > picture.getSize().getHeight() / 3
                                && personBox.getSize().getHeight()
                                        < picture.getSize().getHeight(),
                        "the person's box is drawn to the picture's scale: " + personBox.getSize() + " in "
                                + picture.getSize());
                assertTrue(boxed.getText().contains("centernet: person"), boxed.getText());
                // fashion-cnn's answer for the photograph is greyed, with the words and the score.
                assertFalse(
                        boxed.findElements(By.cssSelector(".label.ood[data-model='fashion-cnn']"))
                                .isEmpty(),
                        "fashion-cnn's labels greyed: " + boxed.getText());
                String note = boxed.findElement(By.cssSelector(".ood-note[data-model='fashion-cnn']"))
                        .getText();
                assertTrue(note.contains("was not trained on images like this") && note.contains("score"), note);
                assertTrue(
                        result.findElements(By.cssSelector(".label.ood")).isEmpty(),
                        "the bag item is in fashion-cnn's domain");

                // The status strip: readiness of all three, and what each writes per second.
                String scoring = wait.until(b -> b.findElements(By.cssSelector("#status .svc.up")).stream()
                        .map(WebElement::getText)
                        .filter(t -> t.startsWith("scoring ready · "))
                        .findFirst()
                        .orElse(null));
                assertTrue(scoring.endsWith(" rec/s"), scoring);
                wait.until(
                        b -> b.findElement(By.id("status")).getText().contains("2 results/min · 1 dead letters/min"));
                String status = HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(URI.create("http://localhost:" + services.captioningHttpPort()
                                                + "/console/status"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString())
                        .body();
                System.out.println("[console IT] status: " + status);

                // The rollouts panel, read-only: a rollout set through scoring's admin API shows with its figures.
                HttpResponse<String> set = HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(URI.create("http://localhost:" + services.scoringHttpPort()
                                                + "/v2/models/fashion-cnn/rollout"))
                                        .PUT(HttpRequest.BodyPublishers.ofString(
                                                "{\"serving\": 1, \"canary\": {\"version\": 2, \"percent\": 5}}"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                assertEquals(200, set.statusCode(), set.body());
                WebElement rollout = wait.until(
                        b -> b.findElements(By.cssSelector("#rollouts tr[data-model='fashion-cnn']")).stream()
                                .findFirst()
                                .orElse(null));
                String row = rollout.getText();
                assertTrue(row.contains("v1 → v2") && row.contains("canary") && row.contains("5 %"), row);

                Path shot = Path.of("target/console-screenshot.png");
                Files.write(shot, ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
                System.out.printf(
                        "[console IT] result '%s' (%s), dead letter %s, video timeline of %d segments; screenshot %s%n",
                        caption,
                        labels.get(0).getText().replace('\n', ' '),
                        reason,
                        timeline.findElements(By.cssSelector(".timeline[data-model='fashion-cnn'] .seg"))
                                .size(),
                        shot.toAbsolutePath());
            } finally {
                browser.quit();
            }
        }
    }
}
