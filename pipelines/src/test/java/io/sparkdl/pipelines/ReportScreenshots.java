package io.sparkdl.pipelines;

import org.junit.jupiter.api.Assumptions;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Renders an HTML report in headless Chromium (Debian's {@code chromium}) and checks the screenshot is
 * not blank. .ci/run installs Chromium, so on CI (CI=true) a missing browser fails; elsewhere it skips.
 */
final class ReportScreenshots {
    private ReportScreenshots() {
    }

    static String chromium() {
        for (String c : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) {
            if (new File(c).canExecute()) {
                return c;
            }
        }
        return null;
    }

    static void assertRendersNonBlank(Path html, Path png) throws Exception {
        String browser = chromium();
        if (browser == null) {
            assertTrue(System.getenv("CI") == null, "CI installs chromium (.ci/run) but it is missing");
            Assumptions.abort("headless Chromium not installed (apt-get install chromium)");
        }
        Path profile = Files.createTempDirectory("chromium-profile");
        Process p = new ProcessBuilder(browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--user-data-dir=" + profile, "--window-size=1280,2000", "--screenshot=" + png.toAbsolutePath(),
                html.toUri().toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium did not finish");
        assertEquals(0, p.exitValue(), "chromium failed: " + out);
        BufferedImage img = ImageIO.read(png.toFile());
        assertTrue(img != null && img.getWidth() >= 1000, "a screenshot was written: " + png);
        Set<Integer> colours = new HashSet<>();
        long nonWhite = 0;
        long total = 0;
        for (int y = 0; y < img.getHeight(); y += 2) {
            for (int x = 0; x < img.getWidth(); x += 2) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                colours.add(rgb);
                if (rgb != 0xffffff) {
                    nonWhite++;
                }
                total++;
            }
        }
        double share = (double) nonWhite / total;
        assertTrue(colours.size() > 50 && share > 0.03, "screenshot looks blank: " + colours.size()
                + " colours, " + String.format("%.3f", share) + " non-white");
    }
}
