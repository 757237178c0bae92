package wavysim

import (
	"syncer/internal/sim/sample"
	"syncer/internal/sim/wire"
)

// AddSessions opens n new sessions, of new users, created at the clock's
// now (a second apart, on whole seconds, none after it), and returns them.
func (s *Simulator) AddSessions(n int) []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now().UnixMilli()
	now -= now % 1000
	out := make([]Session, 0, n)
	for i := range n {
		u := s.newUser()
		se := session{user: u, created: now - int64(n-1-i)*1000, bad: s.rng.Float64() < s.cfg.BadShare}
		s.sessions = append(s.sessions, se)
		out = append(out, se.export())
	}
	return out
}

// The webhook bodies Wavy posts (FACTS.md): an MO batch and a status
// callback batch.
type (
	moBatch struct {
		Total int  `json:"total"`
		Data  []MO `json:"data"`
	}
	statusBatch struct {
		Total      int        `json:"total"`
		Data       []Status   `json:"data"`
		ClientInfo ClientInfo `json:"clientInfo"`
	}
)

// MO is one inbound message of an MO batch.
type MO struct {
	ID            string       `json:"id"`
	Source        string       `json:"source"`
	Origin        string       `json:"origin"`
	UserProfile   *UserProfile `json:"userProfile,omitempty"`
	CampaignID    int          `json:"campaignId"`
	CorrelationID string       `json:"correlationId"`
	CampaignAlias string       `json:"campaignAlias"`
	FlowID        string       `json:"flowId"`
	ExtraInfo     string       `json:"extraInfo"`
	Message       MOMessage    `json:"message"`
	ReceivedAt    int64        `json:"receivedAt"`
	ReceivedDate  string       `json:"receivedDate"`
}

// UserProfile is the WhatsApp profile of the user.
type UserProfile struct {
	Name string `json:"name"`
}

// MOMessage is the content of an MO message.
type MOMessage struct {
	Type        string    `json:"type"`
	MessageText string    `json:"messageText,omitempty"`
	MediaURL    string    `json:"mediaUrl,omitempty"`
	MimeType    string    `json:"mimeType,omitempty"`
	Caption     string    `json:"caption,omitempty"`
	Location    *Location `json:"location,omitempty"`
}

// Location is a shared place.
type Location struct {
	GeoPoint string `json:"geoPoint"`
	Name     string `json:"name,omitempty"`
	Address  string `json:"address,omitempty"`
}

// Status is one delivery status callback.
type Status struct {
	ID              string `json:"id"`
	CorrelationID   string `json:"correlationId"`
	Destination     string `json:"destination"`
	Origin          string `json:"origin"`
	Sent            bool   `json:"sent"`
	SentStatusCode  int    `json:"sentStatusCode"`
	SentStatus      string `json:"sentStatus"`
	SentAt          int64  `json:"sentAt"`
	SentDate        string `json:"sentDate"`
	Delivered       bool   `json:"delivered"`
	DeliveredStatus string `json:"deliveredStatus,omitempty"`
	DeliveredAt     int64  `json:"deliveredAt,omitempty"`
	Read            bool   `json:"read"`
	ReadAt          int64  `json:"readAt,omitempty"`
	UpdatedAt       int64  `json:"updatedAt"`
	UpdatedDate     string `json:"updatedDate"`
}

// ClientInfo names the account a status batch is for.
type ClientInfo struct {
	CustomerID   int `json:"customerId"`
	SubAccountID int `json:"subAccountId"`
	UserID       int `json:"userId"`
}

// accountNumber is the account's WhatsApp number users write to.
const accountNumber = "5519900000001"

var moTypes = []sample.Weighted[string]{
	{V: "TEXT", W: 75}, {V: "IMAGE", W: 8}, {V: "AUDIO", W: 7}, {V: "DOCUMENT", W: 3}, {V: "VIDEO", W: 2},
	{V: "LOCATION", W: 2}, {V: "STICKER", W: 2}, {V: "CONTACTS", W: 1},
}

var mediaTypes = map[string][2]string{
	"IMAGE": {"jpg", "image/jpeg"}, "AUDIO": {"ogg", "audio/ogg"}, "DOCUMENT": {"pdf", "application/pdf"},
	"VIDEO": {"mp4", "video/mp4"}, "STICKER": {"webp", "image/webp"},
}

// NewMOBatch makes an MO batch of n messages from users with a session,
// received after the last MO made and at the clock's now at most, and
// returns its body.
func (s *Simulator) NewMOBatch(n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now().UnixMilli()
	r := s.rng
	b := moBatch{Total: n, Data: make([]MO, n)}
	for i := range b.Data {
		var u *user
		if len(s.sessions) > 0 {
			u = s.sessions[r.IntN(len(s.sessions))].user
		} else {
			u = s.newUser()
		}
		at := max(s.lastMO+1, now-int64(n-1-i)*250)
		at = min(at, now)
		s.lastMO = at
		m := MO{ID: uuid(r), Source: u.phone, Origin: accountNumber, CampaignID: 100, CorrelationID: uuid(r),
			ReceivedAt: at, ReceivedDate: wire.FormatMillis(at)}
		if u.name != "" {
			m.UserProfile = &UserProfile{Name: u.name}
		}
		uText, uCaption := r.IntN(1<<20), r.Float64()
		m.Message.Type = sample.Pick(r, moTypes)
		switch m.Message.Type {
		case "TEXT":
			m.Message.MessageText = sample.CustomerTexts[uText%len(sample.CustomerTexts)]
		case "LOCATION":
			m.Message.Location = &Location{GeoPoint: "-22.89,-47.04", Name: "Loja Centro", Address: "Rua Barão de Jaguara, 1000"}
		case "CONTACTS":
		default:
			media := mediaTypes[m.Message.Type]
			m.Message.MediaURL = "https://chatclub-cdn.wavy.global/media/" + m.ID + "." + media[0]
			m.Message.MimeType = media[1]
			if uCaption < 0.3 {
				m.Message.Caption = sample.CaptionTexts[uText%len(sample.CaptionTexts)]
			}
		}
		b.Data[i] = m
	}
	s.moCount += n
	return wire.Encode(b)
}

// NewStatusBatch makes a batch of n status callbacks: an outbound message
// already sent moves one step (delivered, then read), or a new one is sent
// (a few of them fail); times are the clock's now at most. It returns the
// body.
func (s *Simulator) NewStatusBatch(n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now().UnixMilli()
	r := s.rng
	b := statusBatch{Total: n, Data: make([]Status, n), ClientInfo: ClientInfo{CustomerID: 42, SubAccountID: 1291, UserID: 1}}
	for i := range b.Data {
		var o *outbound
		uPick, uFail := r.Float64(), r.Float64()
		var movable []*outbound
		for _, x := range s.outbound {
			if x.state == stateSent || x.state == stateDelivered {
				movable = append(movable, x)
			}
		}
		if len(movable) > 0 && uPick < 0.6 {
			o = movable[r.IntN(len(movable))]
			o.state++
			o.updated = max(o.updated, now)
			if o.state == stateDelivered {
				o.delivered = o.updated
			}
		} else {
			var u *user
			if len(s.users) > 0 {
				u = s.users[r.IntN(len(s.users))]
			} else {
				u = s.newUser()
			}
			o = &outbound{id: uuid(r), user: u, sent: now, updated: now, state: stateSent}
			if uFail < 0.05 {
				o.state = stateFailed
			}
			s.outbound = append(s.outbound, o)
		}
		b.Data[i] = o.status()
	}
	return wire.Encode(b)
}

// status is the callback of o as it stands.
func (o *outbound) status() Status {
	st := Status{ID: o.id, CorrelationID: "order-" + o.id[:8], Destination: o.user.phone, Origin: accountNumber,
		SentAt: o.sent, SentDate: wire.FormatMillis(o.sent), UpdatedAt: o.updated, UpdatedDate: wire.FormatMillis(o.updated)}
	switch o.state {
	case stateFailed:
		st.SentStatusCode, st.SentStatus = 101, "NOT_SENT_INVALID_DESTINATION_NUMBER"
	default:
		st.Sent, st.SentStatusCode, st.SentStatus = true, 2, "SENT_SOURCE"
	}
	if o.state == stateDelivered || o.state == stateRead {
		st.Delivered, st.DeliveredStatus, st.DeliveredAt = true, "DELIVERED_SUCCESS", o.delivered
	}
	if o.state == stateRead {
		st.Read, st.ReadAt = true, o.updated
	}
	return st
}
