package digisacsim

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"

	"syncer/internal/sim/sample"
)

// newUUID draws a random (version 4) UUID, lowercase. Caller holds mu
// (write) or is building.
func (d *Simulator) newUUID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], d.rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:], d.rng.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

func (d *Simulator) fullName() (first, last string) {
	return dsFirstNames[d.rng.IntN(len(dsFirstNames))], dsLastNames[d.rng.IntN(len(dsLastNames))]
}

// Records added by generation and by Create. Caller holds mu (write) or is
// building; each logs the change for the sorted-order caches.

func (d *Simulator) addDepartment(at int64) int32 {
	i := int32(len(d.departments))
	name := dsDepartmentNames[int(i)%len(dsDepartmentNames)]
	if k := int(i) / len(dsDepartmentNames); k > 0 {
		name += " " + strconv.Itoa(k+1)
	}
	d.departments = append(d.departments, dsDepartment{id: d.newUUID(), name: name, created: at, updated: at})
	d.registered("departments", d.departments[i].id, i)
	return i
}

func (d *Simulator) addUser(at int64) int32 {
	i := int32(len(d.users))
	first, last := d.fullName()
	email := strings.ToLower(asciiFold.Replace(first+"."+last)) + "@acme.com.br"
	for _, u := range d.users {
		if u.email == email {
			email = strings.ToLower(asciiFold.Replace(first+"."+last)) + strconv.Itoa(int(i)) + "@acme.com.br"
			break
		}
	}
	d.users = append(d.users, dsUser{
		id: d.newUUID(), name: first + " " + last, email: email,
		internalChat: d.rng.IntN(4) > 0, online: d.rng.IntN(2) == 0, created: at, updated: at,
	})
	d.registered("users", d.users[i].id, i)
	return i
}

func (d *Simulator) addService(at int64) int32 {
	i := int32(len(d.services))
	s := dsService{
		id:        d.newUUID(),
		seq:       1 + 2*int(i) + d.rng.IntN(2),
		label:     dsServiceLabels[int(i)%len(dsServiceLabels)],
		phone:     sample.BrazilMobile(d.rng),
		connected: true,
		selfID:    d.newUUID(),
		dept:      -1,
		created:   at,
		updated:   at,
	}
	if d.rng.IntN(2) == 0 {
		s.bot = d.newUUID()
	}
	if n := len(d.departments); n > 0 {
		s.dept = int32(d.rng.IntN(n))
	}
	d.services = append(d.services, s)
	d.registered("services", s.id, i)
	return i
}

func (d *Simulator) addContact(at int64) int32 {
	r := d.rng
	i := int32(len(d.contacts))
	first, last := d.fullName()
	number := sample.BrazilMobile(r)
	c := dsContact{
		id:       d.newUUID(),
		name:     first + " " + last,
		alt:      first + " " + last[:1] + ".",
		internal: number[2:],
		number:   number,
		note:     dsContactNotes[r.IntN(len(dsContactNotes))],
		group:    r.IntN(30) == 0,
		online:   r.IntN(5) == 0,
		service:  int32(r.IntN(len(d.services))),
		defDept:  -1,
		defUser:  -1,
		open:     -1,
		created:  at,
		updated:  at,
	}
	if r.IntN(3) == 0 {
		c.internal = c.name
	}
	if r.IntN(10) == 0 && len(d.departments) > 0 {
		c.defDept = int32(r.IntN(len(d.departments)))
	}
	if r.IntN(10) == 0 && len(d.users) > 0 {
		c.defUser = int32(r.IntN(len(d.users)))
	}
	d.contacts = append(d.contacts, c)
	d.registered("contacts", c.id, i)
	return i
}

// registered indexes a new record by id and logs it.
func (d *Simulator) registered(resource, id string, i int32) {
	d.byID[resource][id] = i
	d.changed(resource, i)
}

// changed logs that row i of resource was created, edited or removed.
func (d *Simulator) changed(resource string, i int32) {
	t := d.tables[resource]
	t.changes = append(t.changes, i)
}
