// Package importer loads exported files into the warehouse (syncer
// import). It reads a file once to fingerprint it (SHA-256) and sniff it,
// skips it when the same bytes were imported before, then reads it again
// through its platform's file format (extract/<platform>) page by page,
// maps each page with its transform and commits it through the loader, so
// memory stays flat and no transaction holds a lock for the whole file.
// Every commit records how far the import got, in the same transaction: an
// import that was stopped halfway resumes after its last committed page.
// Lines a reader cannot use go to quarantine with their line numbers; the
// rest loads. It must not know a file's layout nor how rows are stored.
package importer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/load"
	_ "syncer/internal/platforms" // every platform registers its file formats and mappings
	"syncer/internal/state"
	"syncer/internal/transform"
)

// Formats lists every format of the command-line contract, in the order
// the usage gives them, and the platform whose sources take it.
var contract = []struct{ format, platform string }{
	{"digisac-tickets-csv", config.Digisac},
	{"digisac-transcript-txt", config.Digisac},
	{"wavy-sessions-csv", config.Wavy},
	{"wavy-mo-json", config.Wavy},
}

// Formats lists every format, in the order the usage gives them.
func Formats() []string {
	out := make([]string, len(contract))
	for i, c := range contract {
		out[i] = c.format
	}
	return out
}

// StatusSkipped is the Result status of a file imported before.
const StatusSkipped = "skipped"

// maxBadLinesKept is how many bad lines a Result lists (all of them are in
// quarantine).
const maxBadLinesKept = 100

// FormatError is a format that is unknown, or that the source's platform
// does not take: a mistake on the command line, not in the file.
type FormatError struct{ Msg string }

func (e *FormatError) Error() string { return e.Msg }

// CheckFormat reports whether a source of platform can import format: a
// *FormatError when it cannot, an *extract.NotBuiltError when this version
// does not read the format yet.
func CheckFormat(platform, format string) error {
	for _, c := range contract {
		if c.format != format {
			continue
		}
		if c.platform != platform {
			return &FormatError{fmt.Sprintf("format %s is for %s sources, and this source is %s source", format, c.platform, state.WithArticle(platform))}
		}
		if _, _, ok := extract.Format(format); !ok {
			return &extract.NotBuiltError{What: "format " + format}
		}
		return nil
	}
	return &FormatError{fmt.Sprintf("unknown format %q (formats: %s)", format, strings.Join(Formats(), ", "))}
}

// Importer imports files into one warehouse.
type Importer struct {
	Store  *state.Store
	Loader *load.Loader
	Logger *slog.Logger     // nil: no logs
	Now    func() time.Time // nil: time.Now
	// Progress, when set, gives each import that starts (past its lease)
	// the Progress it reports its pages and end to; nil: none.
	Progress ProgressFunc

	committed func(done int64) // tests: called after each page commits
}

// Progress hears how far the import of a file has got, for syncer's
// progress display. It is called inline on every page: it must be quick.
type Progress interface {
	// Page is a page read and committed: rows records read (bad lines
	// among them).
	Page(rows int)
	// Position is how many bytes of the file (of its size) are behind the
	// page.
	Position(done, total int64)
	// Committed is the page's commit: written rows inserted or changed.
	Committed(written int64)
	// Finish is the end of the import, with its status.
	Finish(status string)
}

// ProgressFunc gives the Progress of the import of the file at path, of
// format, for source, recorded as run runID.
type ProgressFunc func(source, format, path string, runID int64) Progress

// nopProgress is the Progress of an Importer given none.
type nopProgress struct{}

func (nopProgress) Page(int)              {}
func (nopProgress) Position(int64, int64) {}
func (nopProgress) Committed(int64)       {}
func (nopProgress) Finish(string)         {}

// New returns an importer on store, with a loader of its own.
func New(store *state.Store, logger *slog.Logger) *Importer {
	return &Importer{Store: store, Loader: load.New(store, logger), Logger: logger, Now: time.Now}
}

// Result is how the import of one file ended.
type Result struct {
	Path   string
	Format string
	// Skipped: the same bytes were imported for this source before
	// (ImportedAt); nothing was read or written.
	Skipped    bool
	ImportedAt time.Time
	// Resumed counts the records and bad lines an earlier, interrupted
	// import of the file had committed, of which EarlierBad went to
	// quarantine; this one went on after them.
	Resumed    int64
	EarlierBad int64
	RunID      int64
	Rows       int64 // records read: rows mapped plus bad lines
	Written    int64 // warehouse rows inserted or changed
	Bad        int64 // records quarantined by this import
	Status     string
	// BadLines are the first lines that could not be read, in file order.
	BadLines []BadLine
}

// BadLine is a line of the file that went to quarantine.
type BadLine struct {
	Line   int
	Reason string
}

// Import imports the file at path, of format, for src. A file that cannot
// be read at all comes back as an error with Status failed (and RunID when
// a run was recorded); bad lines alone are not an error (Status partial).
func (im *Importer) Import(ctx context.Context, src *config.Source, format, path string) (Result, error) {
	res := Result{Path: path, Format: format, Status: state.StatusFailed}
	if err := CheckFormat(src.Platform, format); err != nil {
		return res, err
	}
	_, ff, _ := extract.Format(format)
	tf, ok := transform.Lookup(src.Platform, format)
	if !ok {
		return res, &extract.NotBuiltError{What: "the mapping of format " + format}
	}
	now := im.Now
	if now == nil {
		now = time.Now
	}
	log := im.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("source", src.Name), slog.String("stream", format), slog.String("file", path))
	start := now()

	f, err := open(path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	sn, err := sniff(f, format)
	if err != nil {
		return res, err
	}
	s, err := im.Store.Source(ctx, src.Name, src.Platform)
	if err != nil {
		return res, err
	}
	prog, _, err := im.Store.ImportedFile(ctx, s, sn.sha256)
	if err != nil {
		return res, err
	}
	if prog.Complete {
		res.Skipped, res.ImportedAt, res.Status = true, prog.ImportedAt, StatusSkipped
		log.InfoContext(ctx, "file already imported; skipped", slog.Time("imported_at", prog.ImportedAt), slog.String("sha256", sn.sha256))
		return res, nil
	}
	// The lease of (source, format) keeps two processes from importing
	// the same kind of file for a source at once, and lets this one close
	// the runs of imports that were killed.
	lease, ok, err := im.Store.TryLease(ctx, s, format)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, fmt.Errorf("another syncer process is importing %s files for source %q; import this one when it is done", format, src.Name)
	}
	defer lease.Release()
	if n, err := im.Store.FailAbandonedRuns(ctx, s, format); err != nil {
		return res, err
	} else if n > 0 {
		log.WarnContext(ctx, "earlier imports were interrupted; marked failed, their commits are kept", slog.Int64("runs", n))
	}
	// Read again under the lease: an import that ran meanwhile may have
	// gone further, or finished.
	prog, started, err := im.Store.ImportedFile(ctx, s, sn.sha256)
	if err != nil {
		return res, err
	}
	if prog.Complete {
		res.Skipped, res.ImportedAt, res.Status = true, prog.ImportedAt, StatusSkipped
		return res, nil
	}
	if started {
		res.Resumed, res.EarlierBad = prog.Done, prog.Bad
		log.InfoContext(ctx, "an earlier import of this file stopped halfway; going on after what it committed", slog.Int64("records", prog.Done))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	rec := state.ImportedFileRecord{SHA256: sn.sha256, Path: abs, Format: format, Rows: prog.Rows, Done: prog.Done, Bad: prog.Bad}

	run, err := im.Store.StartRun(ctx, s, format, state.ModeImport, time.Time{}, time.Time{})
	if err != nil {
		return res, err
	}
	run.Lease = lease
	res.RunID = run.ID
	log = log.With(slog.Int64("run_id", run.ID))
	var shown Progress = nopProgress{}
	if im.Progress != nil {
		shown = im.Progress(src.Name, format, path, run.ID)
	}
	fail := func(err error) (Result, error) {
		shown.Finish(state.StatusFailed)
		// The run's error names the file; the caller knows it already.
		if _, ferr := im.Store.FinishRun(ctx, run, state.StatusFailed, fmt.Errorf("%s: %w", filepath.Base(path), err)); ferr != nil {
			log.ErrorContext(ctx, "could not record the end of the import", slog.Any("error", ferr))
		}
		// The caller reports the error, once (syncer import prints it).
		log.DebugContext(ctx, "import failed", slog.String("error", err.Error()))
		return res, err
	}

	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(fmt.Errorf("cannot read the file again: %w", err))
	}
	base := filepath.Base(path)
	emit := func(p extract.FilePage) error {
		if started && p.Done <= prog.Done {
			shown.Position(p.Offset, sn.size)
			return nil // committed by the earlier import
		}
		batch, _, err := tf(p.Records)
		if err != nil {
			return err
		}
		for _, b := range p.Bad {
			batch.Rejections = append(batch.Rejections, transform.BadLine(base, b.Line, b.Reason, b.Text))
			if len(res.BadLines) < maxBadLinesKept {
				res.BadLines = append(res.BadLines, BadLine{Line: b.Line, Reason: b.Reason})
			}
		}
		rows := batch.Rows()
		next := rec
		next.Rows, next.Done = rec.Rows+int64(rows), p.Done
		read := rows + len(p.Bad) // rows mapped plus bad lines
		cres, err := im.Loader.Commit(ctx, run, load.Commit{Batch: &batch, File: &next, Pages: 1, RowsRead: read})
		if err != nil {
			return err
		}
		rec = next
		rec.Bad += cres.Quarantined
		res.Rows += int64(read)
		res.Written += cres.Written
		res.Bad += cres.Quarantined
		shown.Page(read)
		shown.Committed(cres.Written)
		shown.Position(p.Offset, sn.size)
		if im.committed != nil {
			im.committed(p.Done)
		}
		return nil
	}
	if err := ff.Read(ctx, extract.File{Name: base, R: f, Size: sn.size, Latin1: !sn.utf8}, src, emit); err != nil {
		return fail(err)
	}
	if err := im.Store.CompleteImport(ctx, s, rec); err != nil {
		return fail(err)
	}

	// The file's status counts its bad records, also those an earlier,
	// interrupted import of it quarantined.
	status, runErr := state.StatusSucceeded, error(nil)
	if rec.Bad > 0 {
		status = state.StatusPartial
		runErr = fmt.Errorf("%d record(s) of %s could not be read and are in the quarantine table", rec.Bad, base)
	}
	totals, err := im.Store.FinishRun(ctx, run, status, runErr)
	if err != nil {
		log.ErrorContext(ctx, "could not record the end of the import", slog.Any("error", err))
	} else {
		status = totals.Status
	}
	res.Status = status
	shown.Finish(status)
	attrs := []any{slog.String("status", status), slog.Int64("rows", res.Rows), slog.Int64("written", res.Written),
		slog.Int64("quarantined", res.Bad), slog.Duration("took", now().Sub(start))}
	if status == state.StatusPartial {
		log.WarnContext(ctx, "import partial: some lines could not be read", attrs...)
	} else {
		log.InfoContext(ctx, "import finished", attrs...)
	}
	return res, nil
}

// open opens a file to import; the errors name no path (the caller does).
func open(path string) (*os.File, error) {
	f, err := os.Open(path)
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return nil, fmt.Errorf("cannot %s the file: %w", pe.Op, pe.Err)
	}
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, errors.New("a directory, not a file")
	}
	return f, nil
}

// sniffed is what one pass over a file found.
type sniffed struct {
	sha256 string
	size   int64
	utf8   bool // the whole file is valid UTF-8
}

// sniffBytes is how much of the start of a file is looked at for NUL bytes.
const sniffBytes = 8 << 10

// sniff reads the whole file once, in constant memory: its SHA-256, its
// size, whether it is valid UTF-8. An empty file, or one that is not text
// (NUL bytes near its start: a binary given by mistake), is an error.
func sniff(r io.Reader, format string) (sniffed, error) {
	h := sha256.New()
	v := &utf8Checker{valid: true}
	n, err := io.Copy(io.MultiWriter(h, v), r)
	if err != nil {
		return sniffed{}, fmt.Errorf("cannot read the file: %w", err)
	}
	if n == 0 {
		return sniffed{}, fmt.Errorf("the file is empty: a %s file has at least a header line", format)
	}
	if v.nul {
		return sniffed{}, fmt.Errorf("not a text file (it holds NUL bytes): check that it is a %s export", format)
	}
	return sniffed{sha256: hex.EncodeToString(h.Sum(nil)), size: n, utf8: v.valid && len(v.tail) == 0}, nil
}

// utf8Checker tells whether what is written to it is valid UTF-8, across
// writes, and whether its first sniffBytes hold a NUL byte.
type utf8Checker struct {
	valid bool
	nul   bool
	seen  int64
	tail  []byte // an incomplete rune at the end of the last write
}

func (c *utf8Checker) Write(p []byte) (int, error) {
	if c.seen < sniffBytes && bytes.IndexByte(p[:min(int64(len(p)), sniffBytes-c.seen)], 0) >= 0 {
		c.nul = true
	}
	c.seen += int64(len(p))
	if !c.valid {
		return len(p), nil
	}
	b := p
	if len(c.tail) > 0 {
		b = append(c.tail, p...)
		c.tail = nil
	}
	// Keep back the bytes of a rune that may go on in the next write.
	cut := len(b)
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				cut = i
			}
			break
		}
	}
	if !utf8.Valid(b[:cut]) {
		c.valid = false
		return len(p), nil
	}
	c.tail = append([]byte(nil), b[cut:]...)
	return len(p), nil
}
