package load

import (
	"fmt"
	"time"

	"syncer/internal/transform"
)

// Columns COPY writes into each staging table. They match the merges in
// sql/queries/merge.sql; TestMergesMatchColumns keeps them in step.
var (
	channelColumns = []string{"source_id", "external_id", "name", "kind", "phone", "status", "connected_at", "created_at", "updated_at", "deleted_at", "raw"}
	contactColumns = []string{"source_id", "external_id", "name", "phone", "channel_external_id", "created_at", "updated_at", "deleted_at", "raw"}
	agentColumns   = []string{"source_id", "external_id", "name", "email", "created_at", "updated_at", "deleted_at", "raw"}
	deptColumns    = []string{"source_id", "external_id", "name", "created_at", "updated_at", "deleted_at", "raw"}
	convColumns    = []string{"source_id", "external_id", "kind", "channel_external_id", "contact_external_id", "protocol", "is_open", "opened_at", "closed_at", "agent_external_id", "department_external_id", "topics", "created_at", "updated_at", "raw"}
	messageColumns = []string{"source_id", "external_id", "conversation_external_id", "channel_external_id", "contact_external_id", "direction", "kind", "status", "body", "media_url", "from_addr", "to_addr", "sent_at", "updated_at", "is_bot", "from_transcript", "agent_external_id", "raw"}
)

// text is a nullable text value: empty is NULL, the rest is cleaned.
func text(s string) any {
	if s == "" {
		return nil
	}
	return cleanText(s)
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func jsonb(raw []byte) any {
	if len(raw) == 0 {
		return []byte("{}")
	}
	return cleanJSON(raw)
}

func textArray(ss []string) any {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = cleanText(s)
	}
	return out
}

func channelRow(src int32, c *transform.Channel) []any {
	return []any{src, cleanText(c.ExternalID), text(c.Name), text(c.Kind), text(c.Phone), text(c.Status), ts(c.ConnectedAt), ts(c.CreatedAt), ts(c.UpdatedAt), ts(c.DeletedAt), jsonb(c.Raw)}
}

func contactRow(src int32, c *transform.Contact) []any {
	return []any{src, cleanText(c.ExternalID), text(c.Name), text(c.Phone), text(c.ChannelID), ts(c.CreatedAt), ts(c.UpdatedAt), ts(c.DeletedAt), jsonb(c.Raw)}
}

func agentRow(src int32, a *transform.Agent) []any {
	return []any{src, cleanText(a.ExternalID), text(a.Name), text(a.Email), ts(a.CreatedAt), ts(a.UpdatedAt), ts(a.DeletedAt), jsonb(a.Raw)}
}

func deptRow(src int32, d *transform.Department) []any {
	return []any{src, cleanText(d.ExternalID), text(d.Name), ts(d.CreatedAt), ts(d.UpdatedAt), ts(d.DeletedAt), jsonb(d.Raw)}
}

func convRow(src int32, c *transform.Conversation) []any {
	var open any
	if c.IsOpen != nil {
		open = *c.IsOpen
	}
	return []any{src, cleanText(c.ExternalID), c.Kind, text(c.ChannelID), text(c.ContactID), text(c.Protocol), open, ts(c.OpenedAt), ts(c.ClosedAt), text(c.AgentID), text(c.DepartmentID), textArray(c.Topics), ts(c.CreatedAt), ts(c.UpdatedAt), jsonb(c.Raw)}
}

// messageRow is a message's row; a message known by protocol goes under
// the conversation convOf names for it.
func messageRow(src int32, m *transform.Message, convOf map[string]string) []any {
	conv := m.ConversationID
	if conv == "" && m.ConversationProtocol != "" {
		conv = convOf[cleanText(m.ConversationProtocol)]
	}
	return []any{src, cleanText(m.ExternalID), text(conv), text(m.ChannelID), text(m.ContactID), m.Direction, m.Kind, text(m.Status), text(m.Body), text(m.MediaURL), text(m.From), text(m.To), m.SentAt.UTC(), ts(m.UpdatedAt), m.IsBot, m.FromTranscript, text(m.AgentID), jsonb(m.Raw)}
}

// The checks below mirror the tables' constraints, so that one bad row is
// quarantined instead of failing the whole batch in the database.

func checkID(id string) error {
	if cleanText(id) == "" {
		return fmt.Errorf("empty external id")
	}
	return nil
}

func checkPhone(p string) error {
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return fmt.Errorf("phone %q is not digits only", p)
		}
	}
	return nil
}

func checkEnum(field, v string, set []string, nullable bool) error {
	if v == "" && nullable {
		return nil
	}
	for _, s := range set {
		if v == s {
			return nil
		}
	}
	return fmt.Errorf("%s %q is not one of %v", field, v, set)
}

func checkChannel(c *transform.Channel) error {
	if err := checkID(c.ExternalID); err != nil {
		return err
	}
	if err := checkEnum("channel kind", c.Kind, transform.ChannelKinds, true); err != nil {
		return err
	}
	if err := checkEnum("channel status", c.Status, transform.ChannelStatuses, true); err != nil {
		return err
	}
	return checkPhone(c.Phone)
}

func checkContact(c *transform.Contact) error {
	if err := checkID(c.ExternalID); err != nil {
		return err
	}
	return checkPhone(c.Phone)
}

func checkConversation(c *transform.Conversation) error {
	if c.ByProtocol {
		if cleanText(c.Protocol) == "" {
			return fmt.Errorf("ticket from a file without a protocol")
		}
	} else if err := checkID(c.ExternalID); err != nil {
		return err
	}
	return checkEnum("conversation kind", c.Kind, []string{transform.ConversationTicket, transform.ConversationConversation, transform.ConversationSession}, false)
}

func checkMessage(m *transform.Message) error {
	if err := checkID(m.ExternalID); err != nil {
		return err
	}
	if m.SentAt.IsZero() {
		return fmt.Errorf("message has no time")
	}
	if err := checkEnum("direction", m.Direction, []string{transform.DirectionInbound, transform.DirectionOutbound, transform.DirectionInternal}, false); err != nil {
		return err
	}
	if err := checkEnum("kind", m.Kind, transform.MessageKinds, false); err != nil {
		return err
	}
	return checkEnum("status", m.Status, transform.MessageStatuses, true)
}
