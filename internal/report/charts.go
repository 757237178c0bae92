package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The charts are drawn here as geometry (rectangles, ticks, labels), which
// the template writes as SVG elements: every value passes through
// html/template's escaping, and no markup is built by hand. A mark is an
// element that draws data (class "mark" in the SVG); a chart without any
// says so in words instead.

// platformColours colour each platform in every chart; directions are
// shades of it.
var platformColours = map[string]string{
	"ogmma":   "#2563eb",
	"digisac": "#16a34a",
	"wavy":    "#d97706",
	"oxenty":  "#9333ea",
}

const otherColour = "#64748b"

func platformColour(p string) string {
	if c, ok := platformColours[p]; ok {
		return c
	}
	return otherColour
}

// directionOpacity shades a platform's colour by direction.
func directionOpacity(d string) float64 {
	switch d {
	case "inbound":
		return 1
	case "outbound":
		return 0.6
	}
	return 0.3
}

// directionOrder sorts the directions as the legend lists them.
func directionOrder(d string) int {
	switch d {
	case "inbound":
		return 0
	case "outbound":
		return 1
	case "internal":
		return 2
	}
	return 3
}

// platformOrder sorts the platforms as the legend lists them.
func platformOrder(p string) int {
	for i, name := range []string{"digisac", "ogmma", "wavy", "oxenty"} {
		if p == name {
			return i
		}
	}
	return 4
}

// tick is a labelled position on an axis.
type tick struct {
	X, Y  float64
	Label string
}

// legendItem is a swatch and its label.
type legendItem struct {
	Fill    string
	Opacity float64
	Label   string
}

// dailyChart is the stacked bars of the daily volume.
type dailyChart struct {
	Width, Height          float64
	Left, Right, Top, Base float64 // the plot area: x from Left to Right, y from Top down to Base
	Points                 int     // days with messages
	Segments               []dailySegment
	YTicks, XTicks         []tick
	Legend                 []legendItem
}

// dailySegment is one platform and direction of one day.
type dailySegment struct {
	X, Y, W, H float64
	Fill       string
	Opacity    float64
	Day        string
	Series     string
	Count      int64
	Title      string
}

func newDailyChart(days []DayVolume) dailyChart {
	c := dailyChart{Width: 960, Height: 320, Left: 60, Right: 944, Top: 16, Base: 280}
	var series []Series
	var most int64
	for _, d := range days {
		for s, n := range d.Counts {
			if n > 0 && !slices.Contains(series, s) {
				series = append(series, s)
			}
		}
		if t := d.Total(); t > 0 {
			c.Points++
			most = max(most, t)
		}
	}
	if c.Points == 0 {
		return c
	}
	slices.SortFunc(series, func(a, b Series) int {
		if p := platformOrder(a.Platform) - platformOrder(b.Platform); p != 0 {
			return p
		}
		if p := strings.Compare(a.Platform, b.Platform); p != 0 {
			return p
		}
		return directionOrder(a.Direction) - directionOrder(b.Direction)
	})
	for _, s := range series {
		c.Legend = append(c.Legend, legendItem{Fill: platformColour(s.Platform), Opacity: directionOpacity(s.Direction), Label: s.Platform + " " + s.Direction})
	}
	top, step := niceScale(most)
	height := c.Base - c.Top
	for v := int64(0); v <= top; v += step {
		c.YTicks = append(c.YTicks, tick{X: c.Left - 6, Y: c.Base - height*float64(v)/float64(top), Label: thousands(v)})
	}
	slot := (c.Right - c.Left) / float64(len(days))
	barW := math.Max(slot*0.8, 0.5)
	every := int(math.Ceil(float64(len(days)) / 12))
	for i, d := range days {
		x := c.Left + float64(i)*slot + (slot-barW)/2
		if i%every == 0 {
			c.XTicks = append(c.XTicks, tick{X: c.Left + (float64(i)+0.5)*slot, Y: c.Base + 18, Label: d.Day.Format("Jan 02")})
		}
		y := c.Base
		for _, s := range series {
			n := d.Counts[s]
			if n == 0 {
				continue
			}
			h := height * float64(n) / float64(top)
			y -= h
			c.Segments = append(c.Segments, dailySegment{X: x, Y: y, W: barW, H: h, Fill: platformColour(s.Platform), Opacity: directionOpacity(s.Direction),
				Day: d.Day.Format(time.DateOnly), Series: s.Platform + "/" + s.Direction, Count: n,
				Title: fmt.Sprintf("%s, %s %s: %s messages", d.Day.Format("Mon 2 Jan 2006"), s.Platform, s.Direction, thousands(n))})
		}
	}
	return c
}

// histogram is the first-response time distribution.
type histogram struct {
	Width, Height    float64
	Left, Top, Base  float64
	Points           int // buckets with responses
	Bars             []histBar
	YTicks           []tick
	Responded        int64
	Unanswered       int64
	Median, P90      string
	BucketWidth, Gap float64
}

type histBar struct {
	X, Y, W, H   float64
	LabelX       float64
	Key, Label   string
	Count        int64
	CountLabel   string
	Share, Title string
}

func newHistogram(fr FirstResponse) histogram {
	c := histogram{Width: 960, Height: 260, Left: 60, Top: 24, Base: 226, Responded: fr.Responded, Unanswered: fr.Unanswered,
		Median: durationOrDash(fr.Median), P90: durationOrDash(fr.P90)}
	var most, total int64
	for _, n := range fr.Buckets {
		if n > 0 {
			c.Points++
		}
		most = max(most, n)
		total += n
	}
	if c.Points == 0 {
		return c
	}
	top, step := niceScale(most)
	height := c.Base - c.Top
	for v := int64(0); v <= top; v += step {
		c.YTicks = append(c.YTicks, tick{X: c.Left - 6, Y: c.Base - height*float64(v)/float64(top), Label: thousands(v)})
	}
	slot := (c.Width - 16 - c.Left) / float64(len(fr.Buckets))
	for i, n := range fr.Buckets {
		b := Buckets[i]
		h := height * float64(n) / float64(top)
		share := 100 * float64(n) / float64(total)
		c.Bars = append(c.Bars, histBar{X: c.Left + float64(i)*slot + slot*0.1, Y: c.Base - h, W: slot * 0.8, H: h, LabelX: c.Left + (float64(i)+0.5)*slot,
			Key: b.Key, Label: b.Label, Count: n, CountLabel: thousands(n), Share: fmt.Sprintf("%.0f%%", share),
			Title: fmt.Sprintf("%s: %s first responses (%.1f%%)", b.Label, thousands(n), share)})
	}
	return c
}

// heatmap is messages by weekday and hour.
type heatmap struct {
	Width, Height float64
	Points        int // cells with messages
	Max           int64
	Cells         []heatCell
	Hours         []tick
	Days          []tick
}

type heatCell struct {
	X, Y, W, H float64
	Fill       string
	Weekday    int // ISO: 1 Monday .. 7 Sunday
	Hour       int
	Count      int64
	Title      string
}

var weekdays = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

func newHeatmap(counts [7][24]int64) heatmap {
	const left, top, w, h = 44.0, 22.0, 34.0, 26.0
	c := heatmap{Width: left + 24*w + 8, Height: top + 7*h + 8}
	for _, row := range counts {
		for _, n := range row {
			if n > 0 {
				c.Points++
			}
			c.Max = max(c.Max, n)
		}
	}
	if c.Points == 0 {
		return c
	}
	for hour := range 24 {
		c.Hours = append(c.Hours, tick{X: left + (float64(hour)+0.5)*w, Y: top - 8, Label: fmt.Sprintf("%02d", hour)})
	}
	for d := range 7 {
		c.Days = append(c.Days, tick{X: left - 8, Y: top + (float64(d)+0.5)*h + 4, Label: weekdays[d]})
		for hour := range 24 {
			n := counts[d][hour]
			c.Cells = append(c.Cells, heatCell{X: left + float64(hour)*w + 1, Y: top + float64(d)*h + 1, W: w - 2, H: h - 2,
				Fill: heatColour(n, c.Max), Weekday: d + 1, Hour: hour, Count: n,
				Title: fmt.Sprintf("%s %02d:00–%02d:59: %s messages", weekdays[d], hour, hour, thousands(n))})
		}
	}
	return c
}

// heatColour shades from pale to dark blue as n nears most; zero is grey.
func heatColour(n, most int64) string {
	if n <= 0 || most <= 0 {
		return "#f1f5f9"
	}
	t := 0.15 + 0.85*float64(n)/float64(most)
	from, to := [3]float64{219, 234, 254}, [3]float64{30, 58, 138}
	var rgb [3]int
	for i := range rgb {
		rgb[i] = int(math.Round(from[i] + (to[i]-from[i])*t))
	}
	return fmt.Sprintf("#%02x%02x%02x", rgb[0], rgb[1], rgb[2])
}

// agentChart is the agents' messages sent, the busiest first.
type agentChart struct {
	Width, Height float64
	Left          float64
	Points        int // agents shown
	Bars          []agentBar
	More          int // agents left out of the chart
}

type agentBar struct {
	Y, W, H      float64
	LabelY       float64
	Label, Title string
	Source       string
	Count        int64
	CountLabel   string
	ValueX       float64
}

// agentsCharted is how many agents the chart shows; the table lists them
// all.
const agentsCharted = 15

func newAgentChart(agents []AgentLoad) agentChart {
	const rowH = 24.0
	c := agentChart{Width: 960, Left: 340}
	shown := agents
	if len(shown) > agentsCharted {
		shown = shown[:agentsCharted]
		c.More = len(agents) - agentsCharted
	}
	var most int64
	for _, a := range shown {
		most = max(most, a.MessagesSent)
	}
	c.Height = 8 + rowH*float64(len(shown))
	if most == 0 {
		return c
	}
	span := c.Width - c.Left - 90
	for i, a := range shown {
		if a.MessagesSent == 0 {
			continue
		}
		c.Points++
		y := 4 + rowH*float64(i)
		w := math.Max(span*float64(a.MessagesSent)/float64(most), 1)
		c.Bars = append(c.Bars, agentBar{Y: y + 3, W: w, H: rowH - 6, LabelY: y + rowH/2 + 4,
			Label: truncate(a.DisplayName(), 26) + " · " + truncate(a.Source, 18), Source: a.Source, Count: a.MessagesSent, CountLabel: thousands(a.MessagesSent),
			ValueX: c.Left + w + 6,
			Title:  fmt.Sprintf("%s (%s): %s messages sent in %s conversations", a.DisplayName(), a.Source, thousands(a.MessagesSent), thousands(a.Conversations))})
	}
	return c
}

// niceScale is a round top for an axis that reaches most, and the step of
// its ticks (4 to 5 of them).
func niceScale(most int64) (top, step int64) {
	if most <= 0 {
		return 1, 1
	}
	raw := float64(most) / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	var s float64
	switch r := raw / mag; {
	case r <= 1:
		s = 1
	case r <= 2:
		s = 2
	case r <= 2.5:
		s = 2.5
	case r <= 5:
		s = 5
	default:
		s = 10
	}
	step = max(int64(math.Round(s*mag)), 1)
	top = (most + step - 1) / step * step
	return top, step
}

// thousands writes n with a comma between thousands: 12,345.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// humanSeconds writes a duration the way a person reads it: 45 s, 12 min,
// 2 h 05 min, 3 d 4 h.
func humanSeconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(math.Round(s)))
	case d < time.Hour:
		return fmt.Sprintf("%.1f min", d.Minutes())
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%d d %d h", int(d.Hours())/24, int(d.Hours())%24)
	}
}

func durationOrDash(s *float64) string {
	if s == nil {
		return "–"
	}
	return humanSeconds(*s)
}

// truncate shortens s to n characters, with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
