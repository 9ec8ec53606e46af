#ifndef EMETER_CI2C_SHIM_H
#define EMETER_CI2C_SHIM_H
// libi2c 4.3 (Debian 12: libi2c-dev). i2c_smbus_* return -errno on failure (not -1 + errno).
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>
#include <i2c/smbus.h>

/// ioctl(fd, I2C_RDWR, data): one combined transaction with repeated starts. Returns -1 and sets errno on failure.
static inline int CI2C_rdwr(int fd, struct i2c_rdwr_ioctl_data *data) {
    return ioctl(fd, I2C_RDWR, data);
}

/// ioctl(fd, I2C_SLAVE, address): selects the target for the SMBus calls.
static inline int CI2C_setSlave(int fd, long address) {
    return ioctl(fd, I2C_SLAVE, address);
}

static inline unsigned long CI2C_I2C_RDWR(void) { return I2C_RDWR; }
static inline unsigned long CI2C_I2C_SLAVE(void) { return I2C_SLAVE; }
static inline unsigned short CI2C_I2C_M_RD(void) { return I2C_M_RD; }
#endif
