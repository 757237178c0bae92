package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"syncer/internal/config"
	"syncer/internal/demo"
	"syncer/internal/migrate"
	"syncer/internal/report"
	"syncer/internal/schemas"
	"syncer/internal/sim"
	digisacsim "syncer/internal/sim/digisac"
	"syncer/internal/sim/fault"
	ogmmasim "syncer/internal/sim/ogmma"
	oxentysim "syncer/internal/sim/oxenty"
	wavysim "syncer/internal/sim/wavy"
	"syncer/sql/queries"
)

// demoSchema is where `syncer demo` writes; it is dropped and made anew on
// every run, and nothing else is touched.
const demoSchema = "syncer_demo"

// demoReport is the file `syncer demo` ends by writing, in the current
// directory, unless --report names another.
const demoReport = "syncer-demo-report.html"

func (e *env) demo(ctx context.Context, args []string) error {
	messages := 20_000
	reportPath := demoReport
	if err := e.parseFlags("demo", args, func(fs *flag.FlagSet) {
		fs.IntVar(&messages, "messages", messages, "sync about `N` simulated messages")
		fs.StringVar(&reportPath, "report", reportPath, "end by writing the report to `FILE`")
	}); err != nil {
		return err
	}
	if messages < 1 || messages > 5_000_000 {
		return usagef("--messages %d: want 1 to 5000000", messages)
	}
	if err := e.loadConfig(false); err != nil {
		return err
	}
	e.cfg.Schema = demoSchema
	pool, err := e.connect(ctx)
	if err != nil {
		return err
	}
	var drop, create string
	if err := pool.QueryRow(ctx, queries.Get("demo_reset_schema"), demoSchema, schemas.State(demoSchema)).Scan(&drop, &create); err != nil {
		return fmt.Errorf("reset schema %s: %w", demoSchema, err)
	}
	for _, stmt := range []string{drop, create} {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("reset schema %s: %w", demoSchema, err)
		}
	}
	m, err := migrate.New(pool, demoSchema, e.logger)
	if err != nil {
		return err
	}
	defer m.Close()
	if _, err := m.Up(ctx); err != nil {
		return err
	}
	// The simulated teams are Brazilian: the views count in São Paulo
	// time unless the config's time_zone names a zone other than UTC (the
	// default, which the demo cannot tell from UTC set on purpose).
	tz := e.cfg.TimeZone
	if tz == config.DefaultWarehouseTimeZone {
		tz = config.DefaultTimeZone
	}
	if _, err := m.ApplyTimeZone(ctx, tz); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "syncer demo: warehouse in schemas %s and %s (made anew; nothing else is touched); days in %s\n", demoSchema, schemas.State(demoSchema), tz)
	// The summary is printed whole once the runs have ended and their
	// progress lines are drawn for the last time, rather than between the
	// runs' log lines.
	var summary bytes.Buffer
	display := e.startProgress()
	err = demo.Run(ctx, demo.Options{Pool: pool, Messages: messages, Out: &summary, Logger: e.logger, Progress: syncProgress(display)})
	display.Close()
	if _, werr := e.stdout.Write(summary.Bytes()); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	// The report of what was synced, beside the demo: the last 30 days
	// (the demo's data covers 60).
	out, err := filepath.Abs(reportPath)
	if err != nil {
		return err
	}
	r, err := report.Write(ctx, pool, out, report.Options{Logger: e.logger})
	if err != nil {
		return fmt.Errorf("demo report: %w", err)
	}
	fmt.Fprintf(e.stdout, "\nReport: %s (%s); open it in a browser\n", out, r.Summary())
	// Name the database itself when its URL holds no password (make demo's
	// does not), else the variable the user set.
	where := "$DATABASE_URL"
	if u, err := e.databaseURL(); err == nil && len(dbPassword(u)) == 0 {
		where = u
	}
	fmt.Fprintf(e.stdout, "\nLook around: psql \"%s\" -c 'SET search_path = %s' -c 'SELECT * FROM v_conversation_metrics LIMIT 5'\n", where, demoSchema)
	return nil
}

func (e *env) simulate(ctx context.Context, args []string) error {
	listen := "127.0.0.1:8089"
	var seed int64 = 1
	conversations, messages := 20, 100
	var faults fault.Faults
	perMinute := 0
	var wavyWebhook string
	if err := e.parseFlags("simulate", args, func(fs *flag.FlagSet) {
		fs.IntVar(&perMinute, "new-per-minute", perMinute, "`N` new messages arriving on each platform per minute (and Wavy sessions)")
		fs.StringVar(&wavyWebhook, "wavy-webhook", "", "with --new-per-minute, post Wavy's webhook bodies (MO and status batches) to `URL`, e.g. http://127.0.0.1:9090/webhooks/sim-wavy")
		fs.StringVar(&listen, "listen", listen, "serve the simulators on `ADDR`")
		fs.Int64Var(&seed, "seed", seed, "generate the data from seed `N`")
		fs.IntVar(&conversations, "conversations", conversations, "`N` Ogmma conversations per channel (Digisac gets 5 tickets and 3 contacts for each, Wavy one open session, Oxenty one session)")
		fs.IntVar(&messages, "messages", messages, "`N` initial messages per Ogmma conversation")
		fs.Float64Var(&faults.RateLimitShare, "rate-limited", 0, "answer a `SHARE` of the requests 429 (0 to 1)")
		fs.StringVar(&faults.RetryAfter, "retry-after", "1", "send `S` as the Retry-After of those 429s: seconds or an HTTP date")
		fs.Float64Var(&faults.ServerErrorShare, "server-errors", 0, "start a 5xx burst on a `SHARE` of the requests (0 to 1)")
		fs.Float64Var(&faults.CutBodyShare, "cut-bodies", 0, "cut off a `SHARE` of the 200 responses midway (0 to 1)")
		fs.DurationVar(&faults.Latency, "latency", 0, "add `D` of delay to every response (500ms, 2s)")
	}); err != nil {
		return err
	}
	if conversations < 1 || messages < 1 {
		return usagef("--conversations and --messages must be at least 1")
	}
	if perMinute < 0 || perMinute > 60_000 {
		return usagef("--new-per-minute %d: want 0 to 60000", perMinute)
	}
	for name, share := range map[string]float64{"--rate-limited": faults.RateLimitShare, "--server-errors": faults.ServerErrorShare, "--cut-bodies": faults.CutBodyShare} {
		if share < 0 || share > 1 {
			return usagef("%s %v: want a share from 0 to 1", name, share)
		}
	}
	if err := e.setupLogger(nil); err != nil {
		return err
	}
	og := ogmmasim.New(ogmmasim.Config{Seed: seed, Channels: 2, ConversationsPerChannel: conversations, MessagesPerConversation: messages, Now: time.Now, Faults: faults})
	ds := digisacsim.New(digisacsim.Config{Seed: seed, Contacts: 3 * conversations, Tickets: 5 * conversations, Now: time.Now, Faults: faults})
	ox := oxentysim.New(oxentysim.Config{Seed: seed, Sessions: conversations, Now: time.Now, Faults: faults})
	wv := wavysim.New(wavysim.Config{Seed: seed, Sessions: conversations, Now: time.Now, Faults: faults})
	files, certFile, err := wavyFileHost(wv)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	defer func() {
		files.Close()
		os.Remove(certFile)
	}()
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", listen)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	srv := &http.Server{Handler: sim.NewServers(sim.Simulators{Ogmma: og, Digisac: ds, Wavy: wv, Oxenty: ox}), ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + loopbackAddr(ln.Addr())
	fmt.Fprintf(e.stdout, "simulators on %s (Ctrl-C to stop; GET %s/ lists the endpoints and the controls that change the data)\n\nA config to sync from them:\n\nsources:\n  - name: sim-ogmma\n    platform: ogmma\n    base_url: %s/ogmma\n    api_key: %s\n    rate_limit: 100\n    channels:\n", base, base, base, og.APIKey())
	for i, ch := range og.Channels() {
		fmt.Fprintf(e.stdout, "      - id: %s\n        name: %s\n        kind: whatsapp\n        discover: true\n", ch.ID, demo.OgmmaChannelName(i))
	}
	fmt.Fprintf(e.stdout, "  - name: sim-digisac\n    platform: digisac\n    base_url: %s/digisac\n    token: %s\n    rate_limit: 100\n", base, ds.Token())
	fmt.Fprintf(e.stdout, "  - name: sim-oxenty\n    platform: oxenty\n    base_url: %s/oxenty\n    api_key: %s\n    rate_limit: 100\n", base, ox.APIKey())
	fmt.Fprintf(e.stdout, "  - name: sim-wavy\n    platform: wavy\n    base_url: %s/wavy\n    username: %s\n    token: %s\n    customer_id: \"%s\"\n    file_hosts: [127.0.0.1]\n    webhook_secret: %s\n",
		base, wv.Username(), wv.Token(), wv.CustomerID(), simWebhookSecret)
	fmt.Fprintf(e.stdout, "\nWavy's session files are served over https at %s with a certificate made for this run: run syncer\nwith SSL_CERT_FILE=%s so that it trusts it (syncer follows no other link).\n", files.URL, certFile)
	var sender *wavysim.Sender
	if wavyWebhook != "" {
		sender = wavysim.NewSender(wavysim.SenderConfig{URL: wavyWebhook, Token: simWebhookSecret, Seed: seed, DuplicateShare: 0.05})
	}
	if perMinute > 0 {
		go func() {
			tick := time.NewTicker(time.Minute / time.Duration(perMinute))
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					og.AddMessages(1)
					ds.Create("messages", 1)
					wv.AddSessions(1)
					if sender != nil {
						for _, body := range [][]byte{wv.NewMOBatch(1), wv.NewStatusBatch(1)} {
							if _, err := sender.Send(ctx, body); err != nil && ctx.Err() == nil {
								e.logger.Warn("simulate: a Wavy webhook was not acknowledged", slog.String("url", wavyWebhook), slog.String("error", err.Error()))
							}
						}
					}
				}
			}
		}()
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return fmt.Errorf("simulate: %w", err)
	}
	return nil
}

// simWebhookSecret is the webhook_secret the printed config gives the
// simulated Wavy source, and the token its webhook bodies are posted with.
const simWebhookSecret = "sim-wavy-webhook-secret"

// wavyFileHost serves the Wavy simulator's session files over https, and
// writes the certificate to a file for SSL_CERT_FILE.
func wavyFileHost(wv *wavysim.Simulator) (*wavysim.FileHost, string, error) {
	files, err := wavysim.NewFileHost(wv.Files(), "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	wv.SetFileBase(files.URL)
	f, err := os.CreateTemp("", "syncer-simulate-wavy-*.pem")
	if err == nil {
		_, err = f.Write(files.CertPEM)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		files.Close()
		return nil, "", fmt.Errorf("write the Wavy file host's certificate: %w", err)
	}
	return files, f.Name(), nil
}

// loopbackAddr gives addr as a config's base_url may name it: an address
// listening on all interfaces (0.0.0.0, ::) is reached through loopback,
// since syncer sends credentials over plain http only to a loopback host.
func loopbackAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	ip := net.IPv4(127, 0, 0, 1)
	if tcp.IP.To4() == nil {
		ip = net.IPv6loopback
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port))
}
