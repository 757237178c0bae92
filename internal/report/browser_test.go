package report_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"syncer/internal/browsertest"
	"syncer/internal/report"
)

// chartState is what the page says of one [data-chart] element.
type chartState struct {
	Chart  string  `json:"chart"`
	Points int     `json:"points"`
	Marks  int     `json:"marks"`  // marks drawn with an area
	Height float64 `json:"height"` // of the chart's svg, in CSS pixels
	Empty  bool    `json:"empty"`  // says there is no data
}

const chartsJS = `[...document.querySelectorAll('[data-chart]')].map(el => {
	const svg = el.querySelector('svg.chart');
	const marks = svg ? [...svg.querySelectorAll('.mark')].filter(m => { const b = m.getBBox(); return b.width > 0 && b.height > 0; }).length : 0;
	return {chart: el.dataset.chart, points: Number(el.dataset.points), marks,
		height: svg ? svg.getBoundingClientRect().height : 0, empty: !!el.querySelector('.empty')};
})`

// TestReportInChromium opens a written report in headless Chromium from
// its file: every chart is drawn with data, nothing is loaded from
// anywhere else, and a screenshot report.png is saved; the report of an
// empty period shows each chart's message instead.
func TestReportInChromium(t *testing.T) {
	t.Parallel()
	db := fixture(t)
	dir := t.TempDir()
	week := filepath.Join(dir, "report.html")
	if _, err := report.Write(context.Background(), db.Pool, week, weekOptions()); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.html")
	opts := weekOptions()
	opts.Since, opts.Until = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)
	if _, err := report.Write(context.Background(), db.Pool, empty, opts); err != nil {
		t.Fatal(err)
	}

	b := browsertest.NewWithConfig(t, browsertest.Config{Width: 1100, Height: 900})
	u, err := browsertest.FileURL(week)
	if err != nil {
		t.Fatal(err)
	}
	b.Navigate(u)
	b.WaitFor(`document.querySelectorAll('[data-chart]').length === 4`)
	charts := browsertest.Eval[[]chartState](b, chartsJS)
	if len(charts) != 4 {
		t.Fatalf("charts: %+v", charts)
	}
	for _, c := range charts {
		if c.Points <= 0 || c.Marks <= 0 || c.Height < 40 || c.Empty {
			t.Errorf("%s is not drawn with data: %+v", c.Chart, c)
		}
	}
	if rows := browsertest.Eval[int](b, `document.querySelectorAll('table[data-table="sources"] tbody tr').length`); rows != 2 {
		t.Errorf("the sources table has %d rows, want 2", rows)
	}
	if n := browsertest.Eval[int](b, `performance.getEntriesByType('resource').length`); n != 0 {
		t.Errorf("the page loaded %d resources from elsewhere", n)
	}
	if title := browsertest.Eval[string](b, `document.querySelector('tr td[title="a2"]').textContent`); title != evil {
		t.Errorf("the agent's name shows as %q", title)
	}
	b.Screenshot("report.png")

	u, err = browsertest.FileURL(empty)
	if err != nil {
		t.Fatal(err)
	}
	b.Navigate(u)
	charts = browsertest.Eval[[]chartState](b, chartsJS)
	if len(charts) != 4 {
		t.Fatalf("charts of the empty report: %+v", charts)
	}
	for _, c := range charts {
		if c.Points != 0 || c.Marks != 0 || !c.Empty {
			t.Errorf("%s of an empty period: %+v", c.Chart, c)
		}
	}
	b.Screenshot("report-empty.png")
}
