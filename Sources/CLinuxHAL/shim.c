#define _GNU_SOURCE
#include "CLinuxHAL.h"
#include <errno.h>
#include <pthread.h>
#include <pty.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <unistd.h>

unsigned long CLinuxHAL_SPI_IOC_MESSAGE(unsigned int n) { return SPI_IOC_MESSAGE(n); }
unsigned long CLinuxHAL_SPI_IOC_WR_MODE(void) { return SPI_IOC_WR_MODE; }
unsigned long CLinuxHAL_SPI_IOC_RD_MODE(void) { return SPI_IOC_RD_MODE; }
unsigned long CLinuxHAL_SPI_IOC_WR_BITS_PER_WORD(void) { return SPI_IOC_WR_BITS_PER_WORD; }
unsigned long CLinuxHAL_SPI_IOC_WR_MAX_SPEED_HZ(void) { return SPI_IOC_WR_MAX_SPEED_HZ; }
unsigned long CLinuxHAL_SPI_IOC_RD_MAX_SPEED_HZ(void) { return SPI_IOC_RD_MAX_SPEED_HZ; }

int CLinuxHAL_ioctl_ptr(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }
int CLinuxHAL_ioctl_none(int fd, unsigned long request) { return ioctl(fd, request); }

unsigned long CLinuxHAL_TIOCEXCL(void) { return TIOCEXCL; }
unsigned long CLinuxHAL_TIOCNXCL(void) { return TIOCNXCL; }
unsigned long CLinuxHAL_TIOCMBIS(void) { return TIOCMBIS; }
unsigned long CLinuxHAL_TIOCMBIC(void) { return TIOCMBIC; }
unsigned long CLinuxHAL_TIOCMGET(void) { return TIOCMGET; }
int CLinuxHAL_TIOCM_RTS(void) { return TIOCM_RTS; }
int CLinuxHAL_TIOCM_DTR(void) { return TIOCM_DTR; }

speed_t CLinuxHAL_speed(int baud) {
    switch (baud) {
    case 1200: return B1200;
    case 2400: return B2400;
    case 4800: return B4800;
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    case 460800: return B460800;
    case 921600: return B921600;
    default: return 0;
    }
}

tcflag_t CLinuxHAL_csize(int bits) {
    switch (bits) {
    case 5: return CS5;
    case 6: return CS6;
    case 7: return CS7;
    case 8: return CS8;
    default: return (tcflag_t)-1;
    }
}

int CLinuxHAL_configure(struct termios *t, int baud, int dataBits, char parity, int stopBits) {
    speed_t speed = CLinuxHAL_speed(baud);
    tcflag_t size = CLinuxHAL_csize(dataBits);
    if (speed == 0 || size == (tcflag_t)-1 || (stopBits != 1 && stopBits != 2) ||
        (parity != 'N' && parity != 'E' && parity != 'O')) {
        errno = EINVAL;
        return -1;
    }
    cfmakeraw(t);
    t->c_cflag &= ~(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    t->c_cflag |= size | CLOCAL | CREAD;
    if (parity != 'N') {
        t->c_cflag |= PARENB;
        if (parity == 'O') t->c_cflag |= PARODD;
        t->c_iflag |= INPCK;   /* check parity */
    }
    /* 7-bit data: also strip bit 7 in the line discipline. A real UART already delivers 7 bits; a pty
       ignores CSIZE/PARENB (the kernel forces CS8), so ISTRIP/INPCK keep the setting visible and effective. */
    if (dataBits == 7) t->c_iflag |= ISTRIP; else t->c_iflag &= ~ISTRIP;
    if (stopBits == 2) t->c_cflag |= CSTOPB;
    t->c_iflag &= ~(IXON | IXOFF | IXANY);
    t->c_cc[VMIN] = 0;
    t->c_cc[VTIME] = 0;
    if (cfsetispeed(t, speed) != 0 || cfsetospeed(t, speed) != 0) return -1;
    return 0;
}

int CLinuxHAL_openpty(int *master, int *slave, char *name, unsigned long nameLength) {
    char buffer[128];
    memset(buffer, 0, sizeof buffer);
    if (openpty(master, slave, buffer, NULL, NULL) != 0) return -1;
    strncpy(name, buffer, nameLength - 1);
    name[nameLength - 1] = 0;
    return 0;
}

int CLinuxHAL_set_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = 0;
    return pthread_setname_np(pthread_self(), truncated);
}

int CLinuxHAL_set_thread_nice_from_process(int steps) {
    id_t tid = (id_t)syscall(SYS_gettid);
    errno = 0;
    int process = getpriority(PRIO_PROCESS, (id_t)getpid());
    if (process == -1 && errno != 0) return -1000 - errno;
    int target = process - steps;
    if (target < -20) target = -20;
    if (target > 19) target = 19;
    errno = 0;
    int current = getpriority(PRIO_PROCESS, tid);
    if (current == -1 && errno != 0) return -1000 - errno;
    if (current != target && setpriority(PRIO_PROCESS, tid, target) != 0) return -1000 - errno;
    return target;
}

int CLinuxHAL_clock_synchronized(void) {
    struct timex tx;
    memset(&tx, 0, sizeof tx); // modes = 0: read only
    int state = adjtimex(&tx);
    if (state == -1) return -1;
    return state != TIME_ERROR && !(tx.status & STA_UNSYNC) ? 1 : 0;
}
