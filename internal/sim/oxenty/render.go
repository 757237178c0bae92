package oxentysim

import "syncer/internal/sim/wire"

// Session is a session as the API sends it, field for field.
type Session struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Status      string  `json:"status"`
	Phone       *string `json:"phone"`
	AllowGroup  bool    `json:"allowGroup"`
	HasWebhook  bool    `json:"hasWebhook"`
	CreatedAt   string  `json:"createdAt"`
	ConnectedAt *string `json:"connectedAt"`
}

// Meta is the paging part of a list answer.
type Meta struct {
	Total      int `json:"total"`
	Page       int `json:"page"`
	Limit      int `json:"limit"`
	TotalPages int `json:"totalPages"`
}

// Page is a list answer: {"data":[...],"meta":{...}}.
type Page struct {
	Data []Session `json:"data"`
	Meta Meta      `json:"meta"`
}

// render builds the API's JSON shape of s. Caller holds mu (read).
func (s *session) render() Session {
	out := Session{ID: s.id, Name: s.name, Status: s.status, AllowGroup: s.allowGroup, HasWebhook: s.hasWebhook,
		CreatedAt: wire.FormatMillis(s.created)}
	if s.phone != "" {
		p := s.phone
		out.Phone = &p
	}
	if s.connected != 0 {
		c := wire.FormatMillis(s.connected)
		out.ConnectedAt = &c
	}
	switch s.bad {
	case badCreatedAt:
		out.CreatedAt = badCreated
	case badConnectedAt:
		c := badConnected
		out.ConnectedAt = &c
	}
	return out
}
