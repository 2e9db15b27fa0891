// ThreadSanitizer builds only (ANCHOR_EVENTS_TSAN): C11 threads forwarded to POSIX threads.
//
// librdkafka on Debian 12 starts its threads with thrd_create and synchronizes with mtx_* and
// cnd_*. glibc implements those by calling its internal pthread functions directly, past the
// interceptors through which ThreadSanitizer (GCC 12 and clang 14 alike) learns of threads and
// locks: a librdkafka thread crashes TSan's allocator at its first malloc, and its locks would be
// invisible, so hand-overs through librdkafka's queues would look like races. Defined in the test
// executable, these functions are the ones librdkafka binds to, and they call the intercepted
// pthread functions. In glibc thrd_t, mtx_t, cnd_t and once_flag are pthread_t,
// pthread_mutex_t, pthread_cond_t and pthread_once_t underneath (same size and layout).
#include <cerrno>
#include <cstdint>
#include <new>

#include <pthread.h>
#include <threads.h>

namespace {

static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t) && sizeof(cnd_t) == sizeof(pthread_cond_t));
static_assert(sizeof(thrd_t) == sizeof(pthread_t) && sizeof(once_flag) == sizeof(pthread_once_t));

struct Start {
  thrd_start_t func;
  void* arg;
};

void* Trampoline(void* start_ptr) {
  Start start = *static_cast<Start*>(start_ptr);
  delete static_cast<Start*>(start_ptr);
  return reinterpret_cast<void*>(static_cast<intptr_t>(start.func(start.arg)));
}

int C11Result(int error) {
  switch (error) {
    case 0:
      return thrd_success;
    case ENOMEM:
      return thrd_nomem;
    case ETIMEDOUT:
      return thrd_timedout;
    case EBUSY:
      return thrd_busy;
    default:
      return thrd_error;
  }
}

pthread_mutex_t* Native(mtx_t* mutex) { return reinterpret_cast<pthread_mutex_t*>(mutex); }
pthread_cond_t* Native(cnd_t* cond) { return reinterpret_cast<pthread_cond_t*>(cond); }

}  // namespace

extern "C" {

int thrd_create(thrd_t* thread, thrd_start_t func, void* arg) {
  auto* start = new (std::nothrow) Start{func, arg};
  if (start == nullptr) {
    return thrd_nomem;
  }
  int error = pthread_create(thread, nullptr, Trampoline, start);
  if (error != 0) {
    delete start;
  }
  return C11Result(error);
}

int thrd_join(thrd_t thread, int* result) {
  void* value = nullptr;
  int error = pthread_join(thread, &value);
  if (error == 0 && result != nullptr) {
    *result = static_cast<int>(reinterpret_cast<intptr_t>(value));
  }
  return C11Result(error);
}

int thrd_detach(thrd_t thread) { return C11Result(pthread_detach(thread)); }

int mtx_init(mtx_t* mutex, int type) {
  pthread_mutexattr_t attributes;
  pthread_mutexattr_init(&attributes);
  if ((type & mtx_recursive) != 0) {
    pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
  }
  int error = pthread_mutex_init(Native(mutex), &attributes);
  pthread_mutexattr_destroy(&attributes);
  return C11Result(error);
}

int mtx_lock(mtx_t* mutex) { return C11Result(pthread_mutex_lock(Native(mutex))); }
int mtx_trylock(mtx_t* mutex) { return C11Result(pthread_mutex_trylock(Native(mutex))); }
int mtx_timedlock(mtx_t* __restrict mutex, const struct timespec* __restrict deadline) {
  return C11Result(pthread_mutex_timedlock(Native(mutex), deadline));
}
int mtx_unlock(mtx_t* mutex) { return C11Result(pthread_mutex_unlock(Native(mutex))); }
void mtx_destroy(mtx_t* mutex) { pthread_mutex_destroy(Native(mutex)); }

int cnd_init(cnd_t* cond) { return C11Result(pthread_cond_init(Native(cond), nullptr)); }
int cnd_signal(cnd_t* cond) { return C11Result(pthread_cond_signal(Native(cond))); }
int cnd_broadcast(cnd_t* cond) { return C11Result(pthread_cond_broadcast(Native(cond))); }
int cnd_wait(cnd_t* cond, mtx_t* mutex) {
  return C11Result(pthread_cond_wait(Native(cond), Native(mutex)));
}
int cnd_timedwait(cnd_t* __restrict cond, mtx_t* __restrict mutex,
                  const struct timespec* __restrict deadline) {
  return C11Result(pthread_cond_timedwait(Native(cond), Native(mutex), deadline));
}
void cnd_destroy(cnd_t* cond) { pthread_cond_destroy(Native(cond)); }

void call_once(once_flag* flag, void (*func)(void)) {
  pthread_once(reinterpret_cast<pthread_once_t*>(flag), func);
}

}  // extern "C"
