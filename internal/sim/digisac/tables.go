package digisacsim

import "strings"

// dsTable is one resource as the query engine sees it: rows numbered from 0
// in creation order, typed field accessors and the resources an include can
// join.
type dsTable struct {
	name  string
	size  func() int
	alive func(i int32) bool // false once removed (Simulator.Remove)
	// removable: rows can be removed; when false, alive is always true.
	removable bool
	fields    map[string]func(i int32) val
	rels      map[string]dsRel // include name → joined table, for include-level where

	// changes lists every row created, edited or removed since the table was
	// built, in order; sorted indexes remember how much of it they include.
	// Appended under Simulator.mu (write).
	changes []int32
	// sorted caches a row order per order spec; under Simulator.idxMu.
	sorted map[string]dsSorted
}

// dsRel joins a row to a row of another table (-1: none).
type dsRel struct {
	to string
	fk func(i int32) int32
}

// field looks a field accessor up; dotted names reach into JSON objects
// ("data.number").
func (t *dsTable) field(name string) (func(int32) val, bool) {
	f, ok := t.fields[name]
	return f, ok
}

// isPrefix reports whether name is the object part of a dotted field
// ("data" of "data.number").
func (t *dsTable) isPrefix(name string) bool {
	for f := range t.fields {
		if strings.HasPrefix(f, name+".") {
			return true
		}
	}
	return false
}

// buildTables describes each resource to the query engine.
func (d *Simulator) buildTables() {
	id := func(i int32, of func(int32) string) val { return nullStrVal(of(i)) }
	svcID := func(i int32) string { return d.services[i].id }
	userID := func(i int32) string {
		if i < 0 {
			return ""
		}
		return d.users[i].id
	}
	deptID := func(i int32) string {
		if i < 0 {
			return ""
		}
		return d.departments[i].id
	}
	account := func(int32) val { return strVal(d.accountID) }
	null := func(int32) val { return nullVal() }
	d.tables = map[string]*dsTable{
		"services": {
			size:      func() int { return len(d.services) },
			alive:     func(i int32) bool { return !d.services[i].removed },
			removable: true,
			fields: map[string]func(int32) val{
				"id":                      func(i int32) val { return strVal(d.services[i].id) },
				"name":                    func(i int32) val { return strVal(d.services[i].name()) },
				"archivedAt":              null,
				"type":                    func(int32) val { return strVal("whatsapp") },
				"data.myId":               func(i int32) val { return strVal(d.services[i].myID()) },
				"data.status.isConnected": func(i int32) val { return boolVal(d.services[i].connected) },
				"createdAt":               func(i int32) val { return timeVal(d.services[i].created) },
				"updatedAt":               func(i int32) val { return timeVal(d.services[i].updated) },
				"deletedAt":               null,
				"accountId":               account,
				"botId":                   func(i int32) val { return nullStrVal(d.services[i].bot) },
				"defaultDepartmentId":     func(i int32) val { return id(d.services[i].dept, deptID) },
			},
		},
		"users": {
			size:      func() int { return len(d.users) },
			alive:     func(i int32) bool { return !d.users[i].removed },
			removable: true,
			fields: map[string]func(int32) val{
				"id":                   func(i int32) val { return strVal(d.users[i].id) },
				"name":                 func(i int32) val { return strVal(d.users[i].name) },
				"email":                func(i int32) val { return strVal(d.users[i].email) },
				"isSuperAdmin":         func(int32) val { return boolVal(false) },
				"isActiveInternalChat": func(i int32) val { return boolVal(d.users[i].internalChat) },
				"status":               func(i int32) val { return strVal(userStatus(d.users[i].online)) },
				"createdAt":            func(i int32) val { return timeVal(d.users[i].created) },
				"updatedAt":            func(i int32) val { return timeVal(d.users[i].updated) },
				"deletedAt":            null,
				"accountId":            account,
			},
		},
		"departments": {
			size:      func() int { return len(d.departments) },
			alive:     func(i int32) bool { return !d.departments[i].removed },
			removable: true,
			fields: map[string]func(int32) val{
				"id":        func(i int32) val { return strVal(d.departments[i].id) },
				"name":      func(i int32) val { return strVal(d.departments[i].name) },
				"createdAt": func(i int32) val { return timeVal(d.departments[i].created) },
				"updatedAt": func(i int32) val { return timeVal(d.departments[i].updated) },
				"deletedAt": null,
				"accountId": account,
			},
		},
		"contacts": {
			size:  func() int { return len(d.contacts) },
			alive: func(int32) bool { return true },
			fields: map[string]func(int32) val{
				"id":                  func(i int32) val { return strVal(d.contacts[i].id) },
				"isGroup":             func(i int32) val { return boolVal(d.contacts[i].group) },
				"isBroadcast":         func(int32) val { return boolVal(false) },
				"visible":             func(int32) val { return boolVal(true) },
				"note":                func(i int32) val { return strVal(d.contacts[i].note) },
				"lastMessageAt":       func(i int32) val { return nullTimeVal(d.contacts[i].lastMsg) },
				"accountId":           account,
				"serviceId":           func(i int32) val { return id(d.contacts[i].service, svcID) },
				"personId":            null,
				"defaultDepartmentId": func(i int32) val { return id(d.contacts[i].defDept, deptID) },
				"defaultUserId":       func(i int32) val { return id(d.contacts[i].defUser, userID) },
				"createdAt":           func(i int32) val { return timeVal(d.contacts[i].created) },
				"updatedAt":           func(i int32) val { return timeVal(d.contacts[i].updated) },
				"deletedAt":           null,
				"status":              func(i int32) val { return strVal(userStatus(d.contacts[i].online)) },
				"name":                func(i int32) val { return strVal(d.contacts[i].name) },
				"internalName":        func(i int32) val { return strVal(d.contacts[i].internal) },
				"alternativeName":     func(i int32) val { return strVal(d.contacts[i].alt) },
				"data.number":         func(i int32) val { return strVal(d.contacts[i].number) },
			},
			rels: map[string]dsRel{
				"service": {to: "services", fk: func(i int32) int32 { return d.contacts[i].service }},
			},
		},
		"tickets": {
			size:  func() int { return len(d.tickets) },
			alive: func(int32) bool { return true },
			fields: map[string]func(int32) val{
				"id":           func(i int32) val { return strVal(d.tickets[i].id) },
				"isOpen":       func(i int32) val { return boolVal(d.tickets[i].open) },
				"protocol":     func(i int32) val { return strVal(d.tickets[i].protocol) },
				"origin":       func(i int32) val { return strVal(d.tickets[i].origin) },
				"startedAt":    func(i int32) val { return timeVal(d.tickets[i].started) },
				"endedAt":      func(i int32) val { return nullTimeVal(d.tickets[i].ended) },
				"contactId":    func(i int32) val { return strVal(d.contacts[d.tickets[i].contact].id) },
				"userId":       func(i int32) val { return id(d.tickets[i].user, userID) },
				"departmentId": func(i int32) val { return id(d.tickets[i].dept, deptID) },
				"accountId":    account,
				"createdAt":    func(i int32) val { return timeVal(d.tickets[i].created) },
				"updatedAt":    func(i int32) val { return timeVal(d.tickets[i].updated) },
			},
			rels: map[string]dsRel{
				"contact":    {to: "contacts", fk: func(i int32) int32 { return d.tickets[i].contact }},
				"user":       {to: "users", fk: func(i int32) int32 { return d.tickets[i].user }},
				"department": {to: "departments", fk: func(i int32) int32 { return d.tickets[i].dept }},
			},
		},
		"messages": {
			size:  func() int { return len(d.messages) },
			alive: func(int32) bool { return true },
			fields: map[string]func(int32) val{
				"id":                  func(i int32) val { return strVal(d.messages[i].id) },
				"isFromMe":            func(i int32) val { return boolVal(d.messages[i].fromMe()) },
				"sent":                func(i int32) val { return boolVal(d.messages[i].sent()) },
				"type":                func(i int32) val { return strVal(dsTypeNames[d.messages[i].typ]) },
				"timestamp":           func(i int32) val { return timeVal(d.messages[i].ts) },
				"data.ack":            func(i int32) val { return d.msgDataVal(i, "ack") },
				"data.isNew":          func(i int32) val { return d.msgDataVal(i, "isNew") },
				"data.isFirst":        func(i int32) val { return d.msgDataVal(i, "isFirst") },
				"data.ticketOpen":     func(i int32) val { return d.msgDataVal(i, "ticketOpen") },
				"data.ticketClose":    func(i int32) val { return d.msgDataVal(i, "ticketClose") },
				"data.ticketTransfer": func(i int32) val { return d.msgDataVal(i, "ticketTransfer") },
				"visible":             func(int32) val { return boolVal(true) },
				"accountId":           account,
				"contactId":           func(i int32) val { return strVal(d.msgContact(i).id) },
				"fromId":              func(i int32) val { return nullStrVal(d.msgFromID(i)) },
				"serviceId":           func(i int32) val { return strVal(d.services[d.msgContact(i).service].id) },
				"toId":                null,
				"userId":              func(i int32) val { return id(d.messages[i].user, userID) },
				"ticketId":            func(i int32) val { return strVal(d.tickets[d.messages[i].ticket].id) },
				"ticketUserId":        func(i int32) val { return id(d.messages[i].tUser, userID) },
				"ticketDepartmentId":  func(i int32) val { return id(d.messages[i].tDept, deptID) },
				"quotedMessageId":     func(i int32) val { return nullStrVal(d.messages[i].quoted) },
				"origin":              func(i int32) val { return nullStrVal(d.messages[i].origin()) },
				"createdAt":           func(i int32) val { return timeVal(d.messages[i].created) },
				"updatedAt":           func(i int32) val { return timeVal(d.messages[i].updated) },
				"deletedAt":           null,
				"text": func(i int32) val {
					if m := &d.messages[i]; m.hasText {
						return strVal(m.text)
					}
					return nullVal()
				},
				"obfuscated": func(int32) val { return boolVal(false) },
				"isFromBot":  func(i int32) val { return boolVal(d.messages[i].side == sideBot) },
			},
			rels: map[string]dsRel{
				"contact": {to: "contacts", fk: func(i int32) int32 { return d.tickets[d.messages[i].ticket].contact }},
				"user":    {to: "users", fk: func(i int32) int32 { return d.messages[i].user }},
				"ticket":  {to: "tickets", fk: func(i int32) int32 { return d.messages[i].ticket }},
				"service": {to: "services", fk: func(i int32) int32 { return d.msgContact(i).service }},
			},
		},
	}
	for name, t := range d.tables {
		t.name = name
		t.sorted = map[string]dsSorted{}
	}
}

func (d *Simulator) msgContact(i int32) *dsContact {
	return &d.contacts[d.tickets[d.messages[i].ticket].contact]
}

// msgFromID is the contact for inbound messages, the connection's own id
// for what the company sends, none for ticket events.
func (d *Simulator) msgFromID(i int32) string {
	switch d.messages[i].side {
	case sideContact:
		return d.msgContact(i).id
	case sideSystem:
		return ""
	}
	return d.services[d.msgContact(i).service].selfID
}

// msgDataVal reads a key of a message's data object.
func (d *Simulator) msgDataVal(i int32, key string) val {
	m := &d.messages[i]
	if m.typ == dsEvent {
		switch {
		case key == "ticketOpen" && m.event == evOpen, key == "ticketClose" && m.event == evClose,
			key == "ticketTransfer" && m.event == evTransfer:
			return boolVal(true)
		}
		return nullVal()
	}
	switch key {
	case "ack":
		return numVal(float64(m.ack))
	case "isNew":
		return boolVal(m.isNew)
	case "isFirst":
		return boolVal(m.isFirst)
	}
	return nullVal()
}
