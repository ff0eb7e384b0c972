// Package board is the only package of edgevoice that imports periph.io/x/host.
//
// Open calls host.Init, reports the board model when it is known, and hands out pins
// (by name, such as "GPIO17" or a gpio line name) and SPI ports (for an APA102 LED
// ring). Its errors say what to do: an unknown pin lists the pins that exist, a
// permission error names the group the service user needs ("gpio", "spi"), and a
// machine without GPIO is told to use the simulated board ([board] kind = "sim").
package board
