package discordfake

import (
	"slices"
	"strings"
)

// routes is every REST route the fake implements, matched in order (literal
// segments such as "@me" before parameters). The route names, used by
// CallCount, RateLimit, FailNext and SetBucket, are the method and the path
// below /api/v9 with Discord's parameter names.
var routes = []route{
	{method: "GET", name: "GET /gateway", fn: restGateway, auth: authNone},
	{method: "GET", name: "GET /gateway/bot", fn: restGatewayBot},
	{method: "GET", name: "GET /users/@me", fn: restMe},
	{method: "GET", name: "GET /users/@me/guilds", fn: restMyGuilds},
	{method: "GET", name: "GET /users/@me/channels", fn: restMyChannels},
	{method: "POST", name: "POST /users/@me/channels", fn: restCreateDM},
	{method: "GET", name: "GET /users/@me/relationships", fn: restRelationships, auth: authUser},
	{method: "GET", name: "GET /users/{user.id}", fn: restUser},
	{method: "GET", name: "GET /channels/{channel.id}", fn: restChannel},
	{method: "PATCH", name: "PATCH /channels/{channel.id}", fn: restModifyChannel},
	{method: "GET", name: "GET /channels/{channel.id}/messages", fn: restListMessages},
	{method: "POST", name: "POST /channels/{channel.id}/messages", fn: restCreateMessage},
	{method: "GET", name: "GET /channels/{channel.id}/messages/{message.id}", fn: restGetMessage},
	{method: "PATCH", name: "PATCH /channels/{channel.id}/messages/{message.id}", fn: restEditMessage},
	{method: "DELETE", name: "DELETE /channels/{channel.id}/messages/{message.id}", fn: restDeleteMessage},
	{method: "GET", name: "GET /channels/{channel.id}/messages/{message.id}/reactions/{emoji}", fn: restReactors},
	{method: "PUT", name: "PUT /channels/{channel.id}/messages/{message.id}/reactions/{emoji}/@me", fn: restAddReaction},
	{method: "DELETE", name: "DELETE /channels/{channel.id}/messages/{message.id}/reactions/{emoji}/@me", fn: restRemoveOwnReaction},
	{method: "DELETE", name: "DELETE /channels/{channel.id}/messages/{message.id}/reactions/{emoji}/{user.id}", fn: restRemoveReaction},
	{method: "POST", name: "POST /channels/{channel.id}/typing", fn: restTyping},
	{method: "POST", name: "POST /channels/{channel.id}/messages/{message.id}/ack", fn: restAck, auth: authUser},
	{method: "POST", name: "POST /channels/{channel.id}/messages/{message.id}/threads", fn: restThreadFromMessage},
	{method: "POST", name: "POST /channels/{channel.id}/threads", fn: restThread},
	{method: "PUT", name: "PUT /channels/{channel.id}/thread-members/@me", fn: restJoinThread},
	{method: "DELETE", name: "DELETE /channels/{channel.id}/thread-members/@me", fn: restLeaveThread},
	{method: "POST", name: "POST /channels/{channel.id}/webhooks", fn: restCreateWebhook},
	{method: "GET", name: "GET /channels/{channel.id}/webhooks", fn: restChannelWebhooks},
	{method: "GET", name: "GET /guilds/{guild.id}", fn: restGuild},
	{method: "GET", name: "GET /guilds/{guild.id}/channels", fn: restGuildChannels},
	{method: "GET", name: "GET /guilds/{guild.id}/members", fn: restGuildMembers},
	{method: "GET", name: "GET /guilds/{guild.id}/members/{user.id}", fn: restGuildMember},
	{method: "GET", name: "GET /guilds/{guild.id}/webhooks", fn: restGuildWebhooks},
	{method: "POST", name: "POST /webhooks/{webhook.id}/{webhook.token}", fn: restExecuteWebhook, auth: authNone},
	{method: "PATCH", name: "PATCH /webhooks/{webhook.id}/{webhook.token}/messages/{message.id}", fn: restEditWebhookMessage, auth: authNone},
	{method: "DELETE", name: "DELETE /webhooks/{webhook.id}/{webhook.token}/messages/{message.id}", fn: restDeleteWebhookMessage, auth: authNone},
}

var routeByName = map[string]*route{}

func init() {
	for i := range routes {
		r := &routes[i]
		_, path, _ := strings.Cut(r.name, " ")
		r.segs = strings.Split(strings.TrimPrefix(path, "/"), "/")
		routeByName[r.name] = r
	}
}

// Routes returns the names of the REST routes the fake implements, e.g.
// "POST /channels/{channel.id}/messages". Any other request answers 404
// {"message":"404: Not Found","code":0} (405 for a known path with another
// method) and is listed by UnknownRoutes.
func Routes() []string {
	out := make([]string, 0, len(routes))
	for _, r := range routes {
		out = append(out, r.name)
	}
	return slices.Clone(out)
}
