// Package hw groups the appliance's hardware: the board (periph host drivers, pins,
// SPI), the debounced buttons, the LED pattern engine, a simulated board, and audio.
//
// # Layering
//
// Only hw/board imports periph.io/x/host; hw/button and hw/led accept the narrow
// periph.io/x/conn interfaces (gpio.PinIn, gpio.PinOut, spi.Port) so that they build
// and test on any machine. hw/sim provides the same button-event channel and LED
// output over simulated pins, for laptops, CI and tests.
package hw
