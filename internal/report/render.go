package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"time"
)

//go:embed report.html.tmpl
var pageTemplate string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"f":   func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"n":   thousands,
	"add": func(a, b float64) float64 { return a + b },
	"sub": func(a, b float64) float64 { return a - b },
}).Parse(pageTemplate))

// view is what the template shows: the report with its figures written
// out and its charts drawn.
type view struct {
	Title       string
	Period      string
	Days        string
	TimeZone    string
	GeneratedAt string
	Version     string
	Filtered    bool
	SourceNames []string

	Messages      string
	Daily         dailyChart
	FirstResponse histogram
	Heatmap       heatmap
	Agents        agentChart
	AgentRows     []agentRow
	AgentsMore    int
	Sources       []sourceView
}

type agentRow struct {
	Name, ID, Source                            string
	Conversations, MessagesSent, FirstResponses string
	MedianFirstResponse                         string
}

type sourceView struct {
	Name, Platform                                string
	Known                                         bool
	Messages, ConversationsOpened, QuarantinedNow string
	QuarantinedInPeriod                           string
	TotalMessages, TotalConversations             string
	LastSuccess, LastSuccessAt                    string
	Stalest, StalestAge, StalestAt                string
	Behind                                        string
	Warn                                          bool // quarantined records, or a stream that never succeeded
}

// agentsListed is how many agents the table lists.
const agentsListed = 200

// Render writes r as one self-contained HTML page.
func Render(w io.Writer, r *Report) error {
	if err := page.Execute(w, newView(r)); err != nil {
		return fmt.Errorf("render the report: %w", err)
	}
	return nil
}

func newView(r *Report) view {
	loc := r.location()
	const layout = "2006-01-02 15:04"
	v := view{
		Period:      fmt.Sprintf("%s to %s", r.Since.In(loc).Format(layout), r.Until.In(loc).Format(layout)),
		Days:        fmt.Sprintf("%s to %s", r.FirstDay.Format(time.DateOnly), r.LastDay.Format(time.DateOnly)),
		TimeZone:    r.TimeZone,
		GeneratedAt: r.GeneratedAt.In(loc).Format("2006-01-02 15:04:05 MST"),
		Version:     r.Version,
		Filtered:    r.Filtered,
		Messages:    thousands(r.Messages()),

		Daily:         newDailyChart(r.Daily),
		FirstResponse: newHistogram(r.FirstResponse),
		Heatmap:       newHeatmap(r.Heatmap),
		Agents:        newAgentChart(r.Agents),
	}
	v.Title = "syncer report, " + v.Days
	for i, a := range r.Agents {
		if i == agentsListed {
			v.AgentsMore = len(r.Agents) - agentsListed
			break
		}
		v.AgentRows = append(v.AgentRows, agentRow{Name: a.DisplayName(), ID: a.AgentID, Source: a.Source,
			Conversations: thousands(a.Conversations), MessagesSent: thousands(a.MessagesSent), FirstResponses: thousands(a.FirstResponses),
			MedianFirstResponse: durationOrDash(a.MedianFirstResponse)})
	}
	for _, s := range r.Sources {
		v.SourceNames = append(v.SourceNames, s.Name)
		sv := sourceView{Name: s.Name, Platform: s.Platform, Known: s.Known,
			Messages: thousands(s.Messages), ConversationsOpened: thousands(s.ConversationsOpened),
			QuarantinedNow: thousands(s.Quarantined), QuarantinedInPeriod: thousands(s.QuarantinedInPeriod),
			TotalMessages: thousands(s.TotalMessages), TotalConversations: thousands(s.TotalConversations),
			LastSuccess: "never", Stalest: "–", StalestAge: "", Behind: "–",
			Warn: s.Quarantined > 0 || (s.Stalest != "" && s.StalestAt == nil)}
		if s.LastSuccess != nil {
			sv.LastSuccess = ago(r.GeneratedAt, *s.LastSuccess)
			sv.LastSuccessAt = s.LastSuccess.In(loc).Format(layout)
		}
		if s.Stalest != "" {
			sv.Stalest = s.Stalest
			sv.StalestAge = "never succeeded"
			if s.StalestAt != nil {
				sv.StalestAge = ago(r.GeneratedAt, *s.StalestAt)
				sv.StalestAt = s.StalestAt.In(loc).Format(layout)
			}
		}
		if s.Behind != nil {
			sv.Behind = humanSeconds(*s.Behind)
		}
		v.Sources = append(v.Sources, sv)
	}
	return v
}

// ago says how long before now t was.
func ago(now, t time.Time) string {
	d := now.Sub(t).Seconds()
	if d < 0 {
		d = 0
	}
	return humanSeconds(d) + " ago"
}
