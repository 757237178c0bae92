package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"syncer/internal/state"
)

// wavyServed is what the Wavy simulator served: the sessions its file
// listed at a sync, and what the webhooks it saw acknowledged carried.
type wavyServed struct {
	sessions int
	open     int // of those, the sessions its file lists now
	inbound  int // distinct MO message ids
	outbound int // distinct ids of status callbacks
	contacts int // distinct phones among all of those
}

// wavy counts what the Wavy simulator serves.
func (f *fleet) wavy() (wavyServed, error) {
	phones := map[string]bool{}
	for s := range f.listed {
		phones[s.Phone] = true
	}
	open := 0
	for _, s := range f.wv.OpenSessions() {
		if f.listed[s] {
			open++
		}
	}
	mo, statuses := map[string]bool{}, map[string]bool{}
	for _, body := range f.posted.Acknowledged() {
		var batch struct {
			Data []struct {
				ID          string          `json:"id"`
				Source      string          `json:"source"`      // an MO message's user
				Destination string          `json:"destination"` // a status callback's user
				Message     json.RawMessage `json:"message"`     // an MO message's content
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &batch); err != nil {
			return wavyServed{}, fmt.Errorf("demo: read a Wavy webhook body back: %w", err)
		}
		for _, it := range batch.Data {
			if it.Message != nil {
				mo[it.ID] = true
				phones[it.Source] = true
			} else {
				statuses[it.ID] = true
				phones[it.Destination] = true
			}
		}
	}
	return wavyServed{sessions: len(f.listed), open: open, inbound: len(mo), outbound: len(statuses), contacts: len(phones)}, nil
}

// reconcile checks that the warehouse holds as many records of each
// source as its simulator serves, so that the numbers the demo announces
// are the numbers it loads: each count of the warehouse is read from the
// warehouse, each count of a simulator from the simulator.
func (f *fleet) reconcile(ctx context.Context, store *state.Store) error {
	got, err := store.CountsBySource(ctx)
	if err != nil {
		return err
	}
	wv, err := f.wavy()
	if err != nil {
		return err
	}
	og, ds, wh, ox := got[ogmmaSource], got[digisacSource], got[wavySource], got[oxentySource]
	for _, c := range []struct {
		what      string
		want, got int64
	}{
		{"demo-ogmma messages", int64(f.og.MessageCount()), og.Messages},
		{"demo-ogmma conversations", int64(f.conversations()), og.Conversations},
		{"demo-digisac messages", int64(f.ds.Count("messages")), ds.Messages},
		{"demo-digisac tickets", int64(f.ds.Count("tickets")), ds.Conversations},
		{"demo-digisac contacts", int64(f.ds.Count("contacts")), ds.Contacts},
		{"demo-wavy sessions (listed by its file at a sync)", int64(wv.sessions), wh.Sessions},
		{"demo-wavy inbound messages (MO messages in webhooks acknowledged)", int64(wv.inbound), wh.Inbound},
		{"demo-wavy outbound messages (in status callbacks acknowledged)", int64(wv.outbound), wh.Outbound},
		{"demo-wavy contacts (phones of its sessions and webhooks)", int64(wv.contacts), wh.Contacts},
		{"demo-oxenty sessions (channels not marked deleted)", int64(f.ox.Count()), ox.Channels - ox.ChannelsDeleted},
		{"demo-oxenty sessions removed (channels marked deleted)", int64(len(f.removed)), ox.ChannelsDeleted},
	} {
		if c.want != c.got {
			return fmt.Errorf("the demo's numbers do not add up: the simulator serves %d %s, the warehouse holds %d", c.want, c.what, c.got)
		}
	}
	deleted, err := store.DeletedChannels(ctx, oxentySource)
	if err != nil {
		return err
	}
	removed := slices.Sorted(slices.Values(f.removed))
	if !slices.Equal(deleted, removed) {
		return fmt.Errorf("the demo's numbers do not add up: the simulator removed the Oxenty sessions %v, the warehouse marks deleted the channels %v", removed, deleted)
	}
	return nil
}

// served says what the simulators serve, for the summary's last line.
func (f *fleet) served() (string, error) {
	wv, err := f.wavy()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d Ogmma messages; %d Digisac messages, %d tickets and %d contacts; %d Wavy sessions (%d still open), %d inbound and %d outbound Wavy messages and %d Wavy contacts; %d Oxenty sessions, and the %d removed marked deleted",
		f.og.MessageCount(), f.ds.Count("messages"), f.ds.Count("tickets"), f.ds.Count("contacts"),
		wv.sessions, wv.open, wv.inbound, wv.outbound, wv.contacts, f.ox.Count(), len(f.removed)), nil
}
