// Allure 3 configuration: one self-contained HTML file (awesome plugin, single-file mode) that
// opens from disk (file://) and as a CI artifact, with history accumulating across runs so trends
// (pass rate, durations) show. harness/gates/run_suite.py::generate_report passes the results
// directories and the output folder; E2E_REPORTS_DIR moves history with the reports (tests).
import { defineConfig } from "allure";

const reports = process.env.E2E_REPORTS_DIR || "./reports";

export default defineConfig({
  name: "cos-pact-e2e acceptance",
  output: `${reports}/allure-report`,
  historyPath: `${reports}/history/history.jsonl`,
  plugins: {
    awesome: {
      options: {
        reportName: "COS ↔ MC acceptance",
        // One index.html with data and attachments inlined: no fetch() of sibling files,
        // which browsers refuse under file:// (the old multi-file report spun forever).
        singleFile: true,
        reportLanguage: "en",
        groupBy: ["epic", "feature", "story"],
      },
    },
  },
});
