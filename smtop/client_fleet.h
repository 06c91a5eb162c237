/* client_fleet.h: what the server says about the fleet (the stream's messages, GET
 * /agents' list) decoded into events for the model: agents, samples, status, alerts. */
#ifndef SM_SMTOP_CLIENT_FLEET_H
#define SM_SMTOP_CLIENT_FLEET_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "client.h"

/* GET /agents' list as CLIENT_EV_AGENT events. */
void fleet_agents(struct client *c, const cJSON *list);
/* Handle one complete stream message. */
void fleet_message(struct client *c, const char *text, size_t len);

#endif
