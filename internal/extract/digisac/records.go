package digisac

import "encoding/json"

// The records of Digisac's /api/v1 lists, as FACTS.md shows them. Fields
// that are not always there are pointers or RawMessage. The streams hand
// them on as the JSON they came as (so that raw keeps every field); the
// transform decodes them into these types.

// Service is a connection (WhatsApp number, Instagram account...).
type Service struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Type       string  `json:"type"`
	ArchivedAt *string `json:"archivedAt"`
	CreatedAt  string  `json:"createdAt"`
	UpdatedAt  string  `json:"updatedAt"`
	DeletedAt  *string `json:"deletedAt"`
	Data       *struct {
		MyID   string `json:"myId"`
		Status *struct {
			IsConnected *bool `json:"isConnected"`
		} `json:"status"`
	} `json:"data"`
}

// User is a user of the platform (an agent); departments have the same
// shape without the email.
type User struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Email     string  `json:"email"`
	CreatedAt string  `json:"createdAt"`
	UpdatedAt string  `json:"updatedAt"`
	DeletedAt *string `json:"deletedAt"`
}

// Department is a team of users.
type Department = User

// Contact is a customer of one connection.
type Contact struct {
	ID              string  `json:"id"`
	Name            string  `json:"name"`
	AlternativeName string  `json:"alternativeName"`
	InternalName    string  `json:"internalName"`
	ServiceID       string  `json:"serviceId"`
	CreatedAt       string  `json:"createdAt"`
	UpdatedAt       string  `json:"updatedAt"`
	DeletedAt       *string `json:"deletedAt"`
	Data            *struct {
		Number json.RawMessage `json:"number"`
	} `json:"data"`
}

// Ticket is one attendance of a contact.
type Ticket struct {
	ID           string          `json:"id"`
	IsOpen       *bool           `json:"isOpen"`
	Protocol     json.RawMessage `json:"protocol"`
	StartedAt    *string         `json:"startedAt"`
	EndedAt      *string         `json:"endedAt"`
	ContactID    string          `json:"contactId"`
	UserID       *string         `json:"userId"`
	DepartmentID *string         `json:"departmentId"`
	CreatedAt    string          `json:"createdAt"`
	UpdatedAt    string          `json:"updatedAt"`
	Contact      *struct {
		ServiceID string `json:"serviceId"`
	} `json:"contact"`
	TicketTopics []struct {
		Name string `json:"name"`
	} `json:"ticketTopics"`
}

// Message is a message, an internal comment or a ticket event.
type Message struct {
	ID        string          `json:"id"`
	IsFromMe  bool            `json:"isFromMe"`
	Sent      *bool           `json:"sent"`
	Type      string          `json:"type"`
	Timestamp *string         `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
	ContactID *string         `json:"contactId"`
	FromID    *string         `json:"fromId"`
	ToID      *string         `json:"toId"`
	ServiceID *string         `json:"serviceId"`
	TicketID  *string         `json:"ticketId"`
	UserID    *string         `json:"userId"` // the user (agent) who sent it
	Text      *string         `json:"text"`
	IsFromBot *bool           `json:"isFromBot"`
	CreatedAt string          `json:"createdAt"`
	UpdatedAt string          `json:"updatedAt"`
	File      *struct {
		URL *string `json:"url"`
	} `json:"file"`
}

// MessageData is what the free-form data of a message tells the mapping.
type MessageData struct {
	Ack            *int `json:"ack"`
	TicketOpen     bool `json:"ticketOpen"`
	TicketClose    bool `json:"ticketClose"`
	TicketTransfer bool `json:"ticketTransfer"`
}

// ProtocolText reads a ticket protocol, sent as a string or a number.
func ProtocolText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	return s
}
