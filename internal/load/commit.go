package load

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/state"
	"syncer/internal/state/statedb"
	"syncer/internal/transform"
	"syncer/sql/queries"
)

// Commit writes a batch, its rejections and the checkpoint in one
// transaction: all of it lands, or none of it does. Then it adds the batch
// to the run's counters.
func (l *Loader) Commit(ctx context.Context, run *state.Run, c Commit) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, l.batchTimeout)
	defer cancel()
	b := screen(c.Batch)
	var res Result
	var err error
	began := time.Now()
	for attempt := 1; ; attempt++ {
		res, err = l.commitOnce(ctx, run, b, c)
		if err == nil || !retryable(err) || attempt == 3 {
			break
		}
		l.logger.WarnContext(ctx, "batch conflicted with another transaction; retrying",
			slog.String("source", run.Source.Name), slog.String("stream", run.Stream), slog.Int64("run_id", run.ID), slog.Int("attempt", attempt))
		select {
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-time.After(time.Duration(attempt*50) * time.Millisecond):
		}
	}
	if errors.Is(err, state.ErrLeaseLost) {
		return Result{}, err
	}
	if err != nil {
		return Result{}, state.DBError(fmt.Sprintf("commit %s %s batch", run.Source.Name, run.Stream), err)
	}
	if l.OnCommit != nil {
		l.OnCommit(run.Source.Name, run.Stream, time.Since(began))
	}
	if res.Written > 0 {
		l.analyzeNew(ctx, b)
	}
	l.store.Count(ctx, run, state.Totals{Pages: int64(c.Pages), RowsRead: int64(c.RowsRead), RowsWritten: res.Written,
		RowsQuarantined: res.Quarantined, SuspectedGaps: int64(c.SuspectedGaps)})
	return res, nil
}

// CommitIn writes c inside tx, a transaction the caller owns (the webhook
// processor, which marks its inbox row processed in the same transaction;
// later a job queue): the rows, the rejections, the checkpoint and the
// inbox row land when the caller commits, or not at all. Call it once per
// transaction. It neither retries nor counts the run: after tx commits, the
// caller counts with Store.Count.
func (l *Loader) CommitIn(ctx context.Context, tx pgx.Tx, run *state.Run, c Commit) (Result, error) {
	var res Result
	err := l.write(ctx, tx, run, screen(c.Batch), c, &res)
	return res, err
}

func (l *Loader) commitOnce(ctx context.Context, run *state.Run, b *transform.Batch, c Commit) (Result, error) {
	var res Result
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		return l.write(ctx, tx, run, b, c, &res)
	})
	return res, err
}

// write is one commit's work inside tx.
func (l *Loader) write(ctx context.Context, tx pgx.Tx, run *state.Run, b *transform.Batch, c Commit, res *Result) error {
	src := run.Source.ID
	if run.Lease != nil {
		if err := run.Lease.Hold(ctx, tx); err != nil {
			return err
		}
	}
	healed, convOf, err := lockAndResolve(ctx, tx, src, b)
	if err != nil {
		return err
	}
	var steps []step
	add := func(table string, n int, cols []string, merge string, row func(int) []any) {
		if n > 0 {
			steps = append(steps, step{table, n, cols, row, strings.Fields(merge)})
		}
	}
	full, derived := split(b.Channels, func(c *transform.Channel) bool { return c.Derived })
	add("channels", len(full), channelColumns, "merge_channels", func(i int) []any { return channelRow(src, &full[i]) })
	add("channels", len(derived), channelColumns, "merge_channels_derived", func(i int) []any { return channelRow(src, &derived[i]) })
	fullC, derivedC := split(b.Contacts, func(c *transform.Contact) bool { return c.Derived })
	add("contacts", len(fullC), contactColumns, "merge_contacts", func(i int) []any { return contactRow(src, &fullC[i]) })
	add("contacts", len(derivedC), contactColumns, "merge_contacts_derived", func(i int) []any { return contactRow(src, &derivedC[i]) })
	add("agents", len(b.Agents), agentColumns, "merge_agents", func(i int) []any { return agentRow(src, &b.Agents[i]) })
	add("departments", len(b.Departments), deptColumns, "merge_departments", func(i int) []any { return deptRow(src, &b.Departments[i]) })
	convs, byProtocol := split(b.Conversations, func(c *transform.Conversation) bool { return c.ByProtocol })
	fullV, derivedV := split(convs, func(c *transform.Conversation) bool { return c.Derived })
	add("conversations", len(fullV), convColumns, "merge_conversations", func(i int) []any { return convRow(src, &fullV[i]) })
	add("conversations", len(derivedV), convColumns, "merge_conversations_derived", func(i int) []any { return convRow(src, &derivedV[i]) })
	add("conversations", len(byProtocol), convColumns, "fill_conversations_by_protocol insert_conversations_by_protocol", func(i int) []any { return convRow(src, &byProtocol[i]) })
	msgs, statuses := split(b.Messages, func(m *transform.Message) bool { return m.StatusOnly })
	add("messages", len(msgs), messageColumns, "keep_known_values merge_messages", func(i int) []any { return messageRow(src, &msgs[i], convOf) })
	add("messages", len(statuses), messageColumns, "merge_message_statuses", func(i int) []any { return messageRow(src, &statuses[i], convOf) })

	if len(steps) > 0 {
		prep := &pgx.Batch{}
		prep.Queue(queries.Get("stage_prepare"))
		prep.Queue(queries.Get("stage_settings"))
		made := map[string]bool{}
		for _, s := range steps {
			if !made[s.table] {
				made[s.table] = true
				prep.Queue(queries.Get("stage_" + s.table))
			}
		}
		if err := tx.SendBatch(ctx, prep).Close(); err != nil {
			return fmt.Errorf("prepare staging: %w", err)
		}
	}
	staged := map[string]bool{}
	for _, s := range steps {
		if staged[s.table] {
			if _, err := tx.Exec(ctx, queries.Get("unstage_"+s.table)); err != nil {
				return fmt.Errorf("empty staging for %s: %w", s.table, err)
			}
		}
		staged[s.table] = true
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_" + s.table}, s.cols,
			pgx.CopyFromSlice(s.n, func(i int) ([]any, error) { return s.row(i), nil })); err != nil {
			return fmt.Errorf("copy %d rows into staging for %s: %w", s.n, s.table, err)
		}
		for _, merge := range s.merges {
			tag, err := tx.Exec(ctx, queries.Get(merge))
			if err != nil {
				return fmt.Errorf("%s: %w", merge, err)
			}
			if !strings.HasPrefix(merge, "keep_") { // keep_ statements change staging, not the warehouse
				res.Written += tag.RowsAffected()
			}
		}
	}

	if len(healed) > 0 {
		for _, heal := range []string{"heal_protocol_messages", "heal_protocol_conversations", "drop_transcript_lines_by_protocol"} {
			tag, err := tx.Exec(ctx, queries.Get(heal), src, healed)
			if err != nil {
				return fmt.Errorf("%s: %w", heal, err)
			}
			res.Written += tag.RowsAffected()
		}
	}
	if convs := apiConversations(b.Messages); len(convs) > 0 {
		tag, err := tx.Exec(ctx, queries.Get("drop_transcript_lines"), src, convs)
		if err != nil {
			return fmt.Errorf("drop_transcript_lines: %w", err)
		}
		res.Written += tag.RowsAffected()
	}

	return l.books(ctx, tx, run, b, c, res)
}

// books writes, in the batch's transaction, its quarantine, its checkpoint
// or import progress, and a full-refresh pass's deletions.
func (l *Loader) books(ctx context.Context, tx pgx.Tx, run *state.Run, b *transform.Batch, c Commit, res *Result) error {
	q := statedb.New(tx)
	src := run.Source.ID
	if len(b.Rejections) > 0 {
		runID := run.ID
		args := make([]statedb.PutQuarantineParams, len(b.Rejections))
		for i, r := range b.Rejections {
			payload := cleanJSON(r.Payload)
			if len(r.Payload) == 0 {
				payload = []byte("null")
			}
			reason := cleanText(r.Reason)
			var ext *string
			if id := cleanText(r.ExternalID); id != "" {
				ext = &id
			}
			args[i] = statedb.PutQuarantineParams{SourceID: src, Stream: run.Stream, RunID: &runID, ExternalID: ext,
				Reason: reason, Payload: payload, Fingerprint: fingerprint(reason, payload)}
		}
		var qerr error
		results := q.PutQuarantine(ctx, args)
		results.Exec(func(_ int, err error) {
			if err != nil && qerr == nil {
				qerr = err
			}
		})
		if err := errors.Join(qerr, results.Close()); err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
	}
	res.Quarantined = int64(len(b.Rejections))
	if len(c.Checkpoints) > 0 {
		args := make([]statedb.PutCursorParams, len(c.Checkpoints))
		for i, cp := range c.Checkpoints {
			cur, err := json.Marshal(cp.Cursor)
			if err != nil {
				return err
			}
			var newest *time.Time
			if !cp.Newest.IsZero() {
				n := cp.Newest.UTC()
				newest = &n
			}
			args[i] = statedb.PutCursorParams{SourceID: src, Stream: run.Stream, PartitionKey: cp.Partition, Cursor: cur, NewestAt: newest}
		}
		var cerr error
		results := q.PutCursor(ctx, args)
		results.Exec(func(_ int, err error) {
			if err != nil && cerr == nil {
				cerr = err
			}
		})
		if err := errors.Join(cerr, results.Close()); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	if c.Complete != nil && len(c.Complete.SeenIDs) > 0 {
		arg := func() (int64, error) { return 0, fmt.Errorf("no full-refresh table %q", c.Complete.Table) }
		switch c.Complete.Table {
		case "channels":
			arg = func() (int64, error) {
				return q.MarkMissingChannels(ctx, statedb.MarkMissingChannelsParams{SourceID: src, Seen: c.Complete.SeenIDs})
			}
		case "agents":
			arg = func() (int64, error) {
				return q.MarkMissingAgents(ctx, statedb.MarkMissingAgentsParams{SourceID: src, Seen: c.Complete.SeenIDs})
			}
		case "departments":
			arg = func() (int64, error) {
				return q.MarkMissingDepartments(ctx, statedb.MarkMissingDepartmentsParams{SourceID: src, Seen: c.Complete.SeenIDs})
			}
		}
		n, err := arg()
		if err != nil {
			return fmt.Errorf("mark rows missing from the pass: %w", err)
		}
		res.Written += n
	}
	if len(c.Inbox) > 0 {
		ids, notes := make([]int64, len(c.Inbox)), make([]string, len(c.Inbox))
		for i, in := range c.Inbox {
			ids[i], notes[i] = in.ID, in.Note
		}
		if err := state.MarkInbox(ctx, tx, ids, notes); err != nil {
			return fmt.Errorf("mark webhook deliveries processed: %w", err)
		}
	}
	if c.File != nil {
		f := *c.File
		f.Bad += res.Quarantined
		if err := state.PutImportProgress(ctx, tx, run.Source, f); err != nil {
			return fmt.Errorf("record the import's progress: %w", err)
		}
	}
	return nil
}

// lockAndResolve takes the source's locks that the batch needs, always in
// one order (protocols, then transcripts) so that batches never deadlock,
// and finds the conversation of each protocol its messages are filed
// under. It returns the protocols of the batch's tickets (a heal runs for
// them after the merges) and those conversations.
//
// Batches with tickets or messages known by protocol hold the protocols
// lock, so that an import and the API never each miss the other's row.
// Batches that write transcript lines, or whose heal will move messages
// that wait under "protocol:<n>", hold the transcripts lock exclusive;
// batches with API messages hold it shared (so they never wait on each
// other): a conversation never gets API messages and transcript lines from
// two transactions that cannot see each other.
func lockAndResolve(ctx context.Context, tx pgx.Tx, src int32, b *transform.Batch) (heal []string, convOf map[string]string, err error) {
	heal = ticketProtocols(b.Conversations)
	var byProtocol []string
	lines, api := false, false
	for _, m := range b.Messages {
		if m.FromTranscript {
			lines = true
		} else {
			api = true
		}
		if m.ConversationID == "" && m.ConversationProtocol != "" {
			byProtocol = append(byProtocol, cleanText(m.ConversationProtocol))
		}
	}
	slices.Sort(byProtocol)
	byProtocol = slices.Compact(byProtocol)
	if len(heal) > 0 || len(byProtocol) > 0 {
		if _, err := tx.Exec(ctx, queries.Get("lock_protocols"), src); err != nil {
			return nil, nil, fmt.Errorf("lock the source's protocols: %w", err)
		}
	}
	if len(heal) > 0 && !lines {
		// Messages under "protocol:<n>" are written only under the
		// protocols lock, which this transaction holds: the answer stands.
		if err := tx.QueryRow(ctx, queries.Get("protocol_messages_waiting"), src, heal).Scan(&lines); err != nil {
			return nil, nil, fmt.Errorf("protocol_messages_waiting: %w", err)
		}
	}
	switch {
	case lines:
		if _, err := tx.Exec(ctx, queries.Get("lock_transcripts"), src); err != nil {
			return nil, nil, fmt.Errorf("lock the source's transcripts: %w", err)
		}
	case api:
		if _, err := tx.Exec(ctx, queries.Get("lock_transcripts_shared"), src); err != nil {
			return nil, nil, fmt.Errorf("lock the source's transcripts: %w", err)
		}
	}
	if len(byProtocol) == 0 {
		return heal, nil, nil
	}
	convOf = make(map[string]string, len(byProtocol))
	rows, err := tx.Query(ctx, queries.Get("conversations_by_protocol"), src, byProtocol)
	if err != nil {
		return nil, nil, fmt.Errorf("conversations_by_protocol: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p, id string
		if err := rows.Scan(&p, &id); err != nil {
			return nil, nil, fmt.Errorf("conversations_by_protocol: %w", err)
		}
		convOf[p] = id
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("conversations_by_protocol: %w", err)
	}
	return heal, convOf, nil
}

// apiConversations lists the conversations of a batch's API messages,
// sorted and without repeats.
func apiConversations(msgs []transform.Message) []string {
	var out []string
	for _, m := range msgs {
		if !m.FromTranscript && m.ConversationID != "" {
			out = append(out, cleanText(m.ConversationID))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ticketProtocols lists the protocols of a batch's tickets, sorted and
// without repeats.
func ticketProtocols(convs []transform.Conversation) []string {
	var out []string
	for _, c := range convs {
		if p := cleanText(c.Protocol); p != "" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func fingerprint(reason string, payload []byte) string {
	h := sha256.New()
	h.Write([]byte(reason))
	h.Write([]byte{0})
	h.Write(payload)
	return hex.EncodeToString(h.Sum(nil))
}

// screen returns the batch without the rows the tables would refuse; those
// become rejections. The caller's batch is left as it is.
func screen(in *transform.Batch) *transform.Batch {
	if in == nil {
		return &transform.Batch{}
	}
	out := &transform.Batch{Rejections: append([]transform.Rejection(nil), in.Rejections...)}
	out.Channels = keep(in.Channels, checkChannel, func(c *transform.Channel) (string, []byte) { return c.ExternalID, c.Raw }, out)
	out.Contacts = keep(in.Contacts, checkContact, func(c *transform.Contact) (string, []byte) { return c.ExternalID, c.Raw }, out)
	out.Agents = keep(in.Agents, func(a *transform.Agent) error { return checkID(a.ExternalID) }, func(a *transform.Agent) (string, []byte) { return a.ExternalID, a.Raw }, out)
	out.Departments = keep(in.Departments, func(d *transform.Department) error { return checkID(d.ExternalID) }, func(d *transform.Department) (string, []byte) { return d.ExternalID, d.Raw }, out)
	out.Conversations = keep(in.Conversations, checkConversation, func(c *transform.Conversation) (string, []byte) { return c.ExternalID, c.Raw }, out)
	out.Messages = keep(in.Messages, checkMessage, func(m *transform.Message) (string, []byte) { return m.ExternalID, m.Raw }, out)
	return out
}

func keep[T any](rows []T, check func(*T) error, ident func(*T) (string, []byte), out *transform.Batch) []T {
	kept := rows[:0:0]
	for i := range rows {
		if err := check(&rows[i]); err != nil {
			id, raw := ident(&rows[i])
			out.Reject(id, raw, "invalid row: "+err.Error())
			continue
		}
		kept = append(kept, rows[i])
	}
	return kept
}

// split separates rows the platform described from rows derived from other
// records; the two merge differently.
func split[T any](in []T, derived func(*T) bool) (full, inferred []T) {
	for i := range in {
		if derived(&in[i]) {
			inferred = append(inferred, in[i])
		} else {
			full = append(full, in[i])
		}
	}
	return full, inferred
}

// step stages one group of rows and merges them into their table.
type step struct {
	table  string
	n      int
	cols   []string
	row    func(i int) []any
	merges []string // statements run in order after the COPY
}

// analyzeNew analyzes, once, the tables of b that PostgreSQL has never
// counted (a warehouse being filled for the first time), so that the next
// commits probe them by primary key. A failure only costs speed: it is
// logged and tried again after the next commit.
func (l *Loader) analyzeNew(ctx context.Context, b *transform.Batch) {
	for _, t := range []struct {
		name string
		rows int
	}{{"messages", len(b.Messages)}, {"conversations", len(b.Conversations)}, {"contacts", len(b.Contacts)}, {"channels", len(b.Channels)}} {
		l.statsMu.Lock()
		known := l.counted[t.name]
		l.statsMu.Unlock()
		if known || t.rows == 0 {
			continue
		}
		var never bool
		err := l.pool.QueryRow(ctx, queries.Get("never_analyzed"), t.name).Scan(&never)
		if err == nil && never {
			_, err = l.pool.Exec(ctx, queries.Get("analyze_"+t.name))
		}
		if err != nil {
			l.logger.WarnContext(ctx, "could not analyze a table; commits may be slower until autovacuum does", slog.String("table", t.name), slog.Any("error", err))
			continue
		}
		l.statsMu.Lock()
		if l.counted == nil {
			l.counted = map[string]bool{}
		}
		l.counted[t.name] = true
		l.statsMu.Unlock()
	}
}
