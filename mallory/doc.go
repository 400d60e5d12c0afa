// Package mallory is the lab's attacker: the man in the middle on the
// wire's shared Ethernet segment. It poisons two hosts' ARP caches with
// frames it builds itself, takes the poisoned connections to the fortune
// service, and relays them with the fortune rewritten. It runs as its own
// process (`zt-lab mallory`) on the attacker host, never inside zt-lab.
package mallory
