#ifndef EMETER_CLINUXHAL_H
#define EMETER_CLINUXHAL_H
// Kernel macros and variadic calls Swift cannot import: wrapped here, never re-declared in Swift.
#include <stdint.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <linux/spi/spidev.h>

/// SPI_IOC_MESSAGE(n): the ioctl request for n `struct spi_ioc_transfer`s in one CS-asserted message.
unsigned long CLinuxHAL_SPI_IOC_MESSAGE(unsigned int n);
unsigned long CLinuxHAL_SPI_IOC_WR_MODE(void);
unsigned long CLinuxHAL_SPI_IOC_RD_MODE(void);
unsigned long CLinuxHAL_SPI_IOC_WR_BITS_PER_WORD(void);
unsigned long CLinuxHAL_SPI_IOC_WR_MAX_SPEED_HZ(void);
unsigned long CLinuxHAL_SPI_IOC_RD_MAX_SPEED_HZ(void);

/// ioctl(fd, request, arg) for requests that take a pointer (ioctl is variadic in C).
int CLinuxHAL_ioctl_ptr(int fd, unsigned long request, void *arg);
/// ioctl(fd, request) for requests without an argument (TIOCEXCL, TIOCNXCL).
int CLinuxHAL_ioctl_none(int fd, unsigned long request);

unsigned long CLinuxHAL_TIOCEXCL(void);
unsigned long CLinuxHAL_TIOCNXCL(void);
unsigned long CLinuxHAL_TIOCMBIS(void);
unsigned long CLinuxHAL_TIOCMBIC(void);
unsigned long CLinuxHAL_TIOCMGET(void);
int CLinuxHAL_TIOCM_RTS(void);
int CLinuxHAL_TIOCM_DTR(void);

/// The termios speed constant (B9600 …) for a baud rate, or 0 when there is none.
speed_t CLinuxHAL_speed(int baud);
/// Character-size bits for 5…8 data bits (CS5…CS8), or (tcflag_t)-1.
tcflag_t CLinuxHAL_csize(int bits);

/// Applies raw mode, data bits, parity, stop bits, CLOCAL|CREAD, no flow control, VMIN=0/VTIME=0.
/// Returns -1 with errno EINVAL for an unsupported setting.
int CLinuxHAL_configure(struct termios *t, int baud, int dataBits, char parity, int stopBits);

/// openpty(3): a pseudo-terminal pair; `name` receives the slave path (at least 64 bytes).
int CLinuxHAL_openpty(int *master, int *slave, char *name, unsigned long nameLength);
/// Names the calling thread (pthread_setname_np, a GNU extension; the kernel keeps 15 bytes). 0 or an errno.
int CLinuxHAL_set_thread_name(const char *name);
/// Sets the calling thread's nice value to the process's (its main thread's, which `nice` and systemd's `Nice=` set)
/// minus `steps`, clamped to -20…19 (setpriority(2) on the thread id: on Linux the nice value is per thread, and
/// libdispatch resets its worker threads' to their QoS, so threads started from Swift concurrency do not inherit
/// it). Returns the new nice value, or -1000 - errno (EACCES without CAP_SYS_NICE or room under RLIMIT_NICE).
int CLinuxHAL_set_thread_nice_from_process(int steps);

/// adjtimex(2), reading only: 1 when the kernel clock is synchronised (state not TIME_ERROR, status without
/// STA_UNSYNC), 0 when it is not, -1 with errno when adjtimex fails.
int CLinuxHAL_clock_synchronized(void);

#endif
