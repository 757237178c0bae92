package load

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"syncer/internal/cursor"
	"syncer/internal/transform"
	"syncer/sql/queries"
)

// Commit is one batch and what committing it means for the stream.
type Commit struct {
	Batch *transform.Batch
	// Partition and Cursor move the stream's checkpoint in the same
	// transaction as the rows. A nil Cursor leaves sync_state alone
	// (backfills and imports never move it).
	Partition string
	Cursor    *cursor.Cursor
	// Complete marks the end of a full-refresh pass: rows of Complete.Table
	// not among SeenIDs get deleted_at.
	Complete *Completion
	// File records an imported file in imported_files with its rows.
	File *ImportedFile
	// What the batch adds to the run's counters.
	Pages         int
	RowsRead      int
	SuspectedGaps int
}

// Completion is a full-refresh pass that saw every row of its table.
type Completion struct {
	Table   string // channels, agents or departments
	SeenIDs []string
}

// ImportedFile is a file whose rows a commit loads.
type ImportedFile struct {
	SHA256 string
	Path   string
	Format string
	Rows   int64
}

// Result is what one commit wrote.
type Result struct {
	Written     int64 // rows inserted or changed, over all tables
	Quarantined int64 // rejections stored (new or seen again)
}

// Commit writes a batch, its rejections and the checkpoint in one
// transaction: all of it lands, or none of it does. Then it adds the batch
// to the run's counters.
func (l *Loader) Commit(ctx context.Context, run *Run, c Commit) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, l.batchTimeout)
	defer cancel()
	b := screen(c.Batch)
	var res Result
	var err error
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
	if err != nil {
		return Result{}, dbError(fmt.Sprintf("commit %s %s batch", run.Source.Name, run.Stream), err)
	}
	if t, due := run.count(c, res); due {
		l.progress(ctx, run, t)
	}
	return res, nil
}

func (l *Loader) commitOnce(ctx context.Context, run *Run, b *transform.Batch, c Commit) (Result, error) {
	var res Result
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		src := run.Source.ID
		protocols := ticketProtocols(b.Conversations)
		if len(protocols) > 0 {
			if _, err := tx.Exec(ctx, queries.Get("lock_protocols"), src); err != nil {
				return fmt.Errorf("lock the source's protocols: %w", err)
			}
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
		add("messages", len(b.Messages), messageColumns, "merge_messages", func(i int) []any { return messageRow(src, &b.Messages[i]) })

		if len(steps) > 0 {
			prep := &pgx.Batch{}
			prep.Queue(queries.Get("stage_prepare"))
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
				res.Written += tag.RowsAffected()
			}
		}

		if len(protocols) > 0 {
			for _, heal := range []string{"heal_protocol_messages", "heal_protocol_conversations"} {
				tag, err := tx.Exec(ctx, queries.Get(heal), src, protocols)
				if err != nil {
					return fmt.Errorf("%s: %w", heal, err)
				}
				res.Written += tag.RowsAffected()
			}
		}

		post := &pgx.Batch{}
		for _, r := range b.Rejections {
			payload := cleanJSON(r.Payload)
			if len(r.Payload) == 0 {
				payload = []byte("null")
			}
			reason := cleanText(r.Reason)
			post.Queue(queries.Get("put_quarantine"), src, run.Stream, run.ID, text(r.ExternalID), reason, payload, fingerprint(reason, payload))
		}
		if c.Cursor != nil {
			cur, err := json.Marshal(c.Cursor)
			if err != nil {
				return err
			}
			post.Queue(queries.Get("put_cursor"), src, run.Stream, c.Partition, cur)
		}
		if c.Complete != nil {
			post.Queue(queries.Get("mark_missing_"+c.Complete.Table), src, c.Complete.SeenIDs).Exec(func(tag pgconn.CommandTag) error {
				res.Written += tag.RowsAffected()
				return nil
			})
		}
		if f := c.File; f != nil {
			post.Queue(queries.Get("put_imported_file"), src, f.SHA256, f.Path, f.Format, f.Rows)
		}
		res.Quarantined = int64(len(b.Rejections))
		if post.Len() > 0 {
			if err := tx.SendBatch(ctx, post).Close(); err != nil {
				return fmt.Errorf("quarantine and checkpoint: %w", err)
			}
		}
		return nil
	})
	return res, err
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
