// Package platforms links every platform into the program: importing it
// runs each platform's registration, its streams and file formats
// (extract/<platform>) and their mappings (transform/<platform>, which
// imports its extract package). Adding a platform adds its two folders and
// one line here; nothing else chooses between platforms. Its stream names
// and config keys stay the config file's contract (package config), and a
// test holds the registry to it. It holds no code.
package platforms

import (
	_ "syncer/internal/transform/digisac" // Digisac: the API's streams, CSV and TXT exports
	_ "syncer/internal/transform/ogmma"   // Ogmma: conversation messages
	_ "syncer/internal/transform/oxenty"  // Oxenty: WhatsApp sessions
	_ "syncer/internal/transform/wavy"    // Wavy: sessions, session CSVs, webhook bodies
)
