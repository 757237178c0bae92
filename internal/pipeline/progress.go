package pipeline

// Progress hears how far a run has got, for syncer's progress display.
// Its methods are called inline from the run's goroutines, several at
// once, on every page: they must be quick (no lock per row) and safe for
// concurrent use.
type Progress interface {
	// Page is a page read and mapped: rows records.
	Page(rows int)
	// Position is how many pages the run has read (done) of the total the
	// source tells for its pass (Digisac's lastPage); called only when it
	// tells.
	Position(done, total int64)
	// Committed is a write batch committed: written rows inserted or
	// changed.
	Committed(written int64)
	// Finish is the end of the run, with its status.
	Finish(status string)
}

// ProgressFunc gives the Progress of a run that starts, of a stream of
// source, recorded as run runID.
type ProgressFunc func(source, stream string, runID int64) Progress

// nopProgress is the Progress of a Runner given none.
type nopProgress struct{}

func (nopProgress) Page(int)              {}
func (nopProgress) Position(int64, int64) {}
func (nopProgress) Committed(int64)       {}
func (nopProgress) Finish(string)         {}

var _ Progress = nopProgress{}
