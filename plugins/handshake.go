package plugins

import (
	plugin "github.com/hashicorp/go-plugin"
)

// Handshake values shared by the host and every extension.
const (
	// ProtocolVersion is the version of the extension protocol (package
	// plugins/proto). It changes only with incompatible protocol changes.
	ProtocolVersion = 1

	// MagicCookieKey and MagicCookieValue tell an extension binary that it
	// was started by hookhost. They are a UX aid, not security.
	MagicCookieKey = "HOOKHOST_PLUGIN"
	// MagicCookieValue should NEVER be changed: every extension built
	// against an older SDK would stop starting.
	MagicCookieValue = "2921b73ff713b146d7846a41ca437024e43f7c801ef8b619"

	// PluginName is the name of the extension plugin in go-plugin's plugin
	// set.
	PluginName = "extension"
)

// Handshake returns the go-plugin handshake of hookhost extensions.
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   MagicCookieKey,
		MagicCookieValue: MagicCookieValue,
	}
}

// VersionedPlugins returns the plugin sets a host passes in
// plugin.ClientConfig.VersionedPlugins. Dispensing PluginName from a client
// built with them yields a *Client.
func VersionedPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginName: &GRPCPlugin{}},
	}
}

// servedPlugins is the plugin set an extension process serves; life counts
// its calls for a graceful shutdown.
func servedPlugins(impl Extension, life *lifecycle) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginName: &GRPCPlugin{Impl: impl, life: life}},
	}
}
