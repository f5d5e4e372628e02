// Allure 3 configuration: where the HTML goes and where history accumulates,
// so trends (pass rate, durations) show across runs. Used by scripts/report.sh.
import { defineConfig } from "allure";

export default defineConfig({
  name: "cos-pact-e2e acceptance",
  output: "./reports/allure-report",
  historyPath: "./reports/history/history.jsonl",
  plugins: {
    awesome: {
      options: {
        reportName: "COS ↔ MC acceptance",
        singleFile: false,
        reportLanguage: "en",
        groupBy: ["epic", "feature", "story"],
      },
    },
  },
});
