package digisacsim

import "syncer/internal/sim/wire"

// JSON shapes, field for field in the order the API writes them.

type dsServiceJSON struct {
	ID                  string        `json:"id"`
	Name                string        `json:"name"`
	ArchivedAt          *string       `json:"archivedAt"`
	Type                string        `json:"type"`
	Data                dsServiceData `json:"data"`
	CreatedAt           string        `json:"createdAt"`
	UpdatedAt           string        `json:"updatedAt"`
	DeletedAt           *string       `json:"deletedAt"`
	AccountID           string        `json:"accountId"`
	BotID               *string       `json:"botId"`
	DefaultDepartmentID *string       `json:"defaultDepartmentId"`
}

type dsServiceData struct {
	MyID   string `json:"myId"`
	Status struct {
		IsConnected bool `json:"isConnected"`
	} `json:"status"`
}

type dsUserJSON struct {
	ID                   string  `json:"id"`
	Name                 string  `json:"name"`
	Email                string  `json:"email"`
	IsSuperAdmin         bool    `json:"isSuperAdmin"`
	IsActiveInternalChat bool    `json:"isActiveInternalChat"`
	Status               string  `json:"status"`
	CreatedAt            string  `json:"createdAt"`
	UpdatedAt            string  `json:"updatedAt"`
	DeletedAt            *string `json:"deletedAt"`
	AccountID            string  `json:"accountId"`
}

type dsDepartmentJSON struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	CreatedAt string  `json:"createdAt"`
	UpdatedAt string  `json:"updatedAt"`
	DeletedAt *string `json:"deletedAt"`
	AccountID string  `json:"accountId"`
}

type dsContactJSON struct {
	ID                  string  `json:"id"`
	IsGroup             bool    `json:"isGroup"`
	IsBroadcast         bool    `json:"isBroadcast"`
	Visible             bool    `json:"visible"`
	Note                string  `json:"note"`
	LastMessageAt       *string `json:"lastMessageAt"`
	AccountID           string  `json:"accountId"`
	ServiceID           string  `json:"serviceId"`
	PersonID            *string `json:"personId"`
	DefaultDepartmentID *string `json:"defaultDepartmentId"`
	DefaultUserID       *string `json:"defaultUserId"`
	CreatedAt           string  `json:"createdAt"`
	UpdatedAt           string  `json:"updatedAt"`
	DeletedAt           *string `json:"deletedAt"`
	Status              string  `json:"status"`
	Name                string  `json:"name"`
	InternalName        string  `json:"internalName"`
	AlternativeName     string  `json:"alternativeName"`
	Data                struct {
		Number string `json:"number"`
	} `json:"data"`
	Service any `json:"service,omitempty"`
}

// dsMetrics are a closed ticket's durations in seconds. Unconfirmed (FACTS:
// "possibly metrics.{ticketTime,waitingTime,messagingTime,ticketTransferCount}").
type dsMetrics struct {
	TicketTime          int64 `json:"ticketTime"`
	WaitingTime         int64 `json:"waitingTime"`
	MessagingTime       int64 `json:"messagingTime"`
	TicketTransferCount int   `json:"ticketTransferCount"`
}

type dsTicketJSON struct {
	ID              string     `json:"id"`
	IsOpen          bool       `json:"isOpen"`
	Protocol        string     `json:"protocol"`
	Origin          string     `json:"origin"`
	StartedAt       string     `json:"startedAt"`
	EndedAt         *string    `json:"endedAt"`
	ContactID       string     `json:"contactId"`
	UserID          *string    `json:"userId"`
	DepartmentID    *string    `json:"departmentId"`
	AccountID       string     `json:"accountId"`
	CreatedAt       string     `json:"createdAt"`
	UpdatedAt       string     `json:"updatedAt"`
	Metrics         *dsMetrics `json:"metrics"`
	Contact         any        `json:"contact,omitempty"`
	User            any        `json:"user,omitempty"`
	Department      any        `json:"department,omitempty"`
	TicketTopics    any        `json:"ticketTopics,omitempty"`
	TicketTransfers any        `json:"ticketTransfers,omitempty"`
	FirstMessage    any        `json:"firstMessage,omitempty"`
}

type dsTopicJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type dsTransferJSON struct {
	ID               string  `json:"id"`
	Action           string  `json:"action"`
	FromUserID       *string `json:"fromUserId"`
	ToUserID         *string `json:"toUserId"`
	FromDepartmentID *string `json:"fromDepartmentId"`
	ToDepartmentID   *string `json:"toDepartmentId"`
	Comments         *string `json:"comments"`
	CreatedAt        string  `json:"createdAt"`
}

type dsMessageJSON struct {
	ID                 string  `json:"id"`
	IsFromMe           any     `json:"isFromMe"` // "yes" in malformed records
	Sent               bool    `json:"sent"`
	Type               string  `json:"type"`
	Timestamp          string  `json:"timestamp"` // "not a date" in malformed records
	Data               any     `json:"data"`
	Visible            bool    `json:"visible"`
	AccountID          string  `json:"accountId"`
	ContactID          string  `json:"contactId"`
	FromID             *string `json:"fromId"`
	ServiceID          string  `json:"serviceId"`
	ToID               *string `json:"toId"`
	UserID             *string `json:"userId"`
	TicketID           string  `json:"ticketId"`
	TicketUserID       *string `json:"ticketUserId"`
	TicketDepartmentID *string `json:"ticketDepartmentId"`
	QuotedMessageID    *string `json:"quotedMessageId"`
	Origin             *string `json:"origin"`
	CreatedAt          string  `json:"createdAt"`
	UpdatedAt          string  `json:"updatedAt"`
	DeletedAt          *string `json:"deletedAt"`
	Text               *string `json:"text"`
	Obfuscated         bool    `json:"obfuscated"`
	Files              any     `json:"files"`
	QuotedMessage      any     `json:"quotedMessage"`
	IsFromBot          bool    `json:"isFromBot"`
	File               any     `json:"file,omitempty"`
	Contact            any     `json:"contact,omitempty"`
	User               any     `json:"user,omitempty"`
	Ticket             any     `json:"ticket,omitempty"`
	Service            any     `json:"service,omitempty"`
}

type dsMessageData struct {
	Ack     int8 `json:"ack"`
	IsNew   bool `json:"isNew"`
	IsFirst bool `json:"isFirst"`
}

type dsEventData struct {
	TicketOpen     bool `json:"ticketOpen,omitempty"`
	TicketTransfer bool `json:"ticketTransfer,omitempty"`
	TicketClose    bool `json:"ticketClose,omitempty"`
}

// dsFileJSON is a message's file. URL is a *string in an interface: nil
// leaves the key out, a nil *string writes null (both readings of "missing
// for a while", FACTS).
type dsFileJSON struct {
	ID             string `json:"id"`
	URL            any    `json:"url,omitempty"`
	PublicFilename string `json:"publicFilename"`
	Mimetype       string `json:"mimetype"`
}

// nullable is s, or a JSON null when s is empty.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullableTime(ms int64) *string {
	if ms == 0 {
		return nil
	}
	s := wire.FormatMillis(ms)
	return &s
}

// dsPageJSON is the list envelope.
type dsPageJSON struct {
	Data        []any `json:"data"`
	Total       int   `json:"total"`
	Limit       int   `json:"limit"`
	Skip        int   `json:"skip"`
	CurrentPage int   `json:"currentPage"`
	LastPage    int   `json:"lastPage"`
	From        int   `json:"from"`
	To          int   `json:"to"`
}
