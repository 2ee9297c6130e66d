//! Small cryptographic building blocks: random tokens stored as hashes, AES-256-GCM sealing of
//! secrets at rest, keyed MACs, constant-time comparison, and the bounded argon2id hasher.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::password_hash::{self, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

/// A bearer secret handed to a person or client (invitation link, reset link, session cookie).
/// 256 random bits, URL-safe; only its hash is stored.
pub struct OpaqueToken(SecretString);

impl OpaqueToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub fn from_presented(value: &str) -> Self {
        Self(SecretString::from(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The value stored in the database: hex SHA-256. The tokens carry 256 bits of entropy, so
    /// a fast hash is enough (no dictionary to attack), and lookups stay indexable.
    pub fn hash(&self) -> String {
        hash_hex(self.0.expose_secret().as_bytes())
    }
}

impl std::fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpaqueToken(<redacted>)")
    }
}

pub fn hash_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    data_encoding::HEXLOWER.encode(&digest)
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Key material derived from the configured master key, one key per purpose.
#[derive(Clone)]
pub struct Keyring {
    sealing: Arc<Aes256Gcm>,
    mac_key: Arc<[u8; 32]>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("sealed data could not be opened (wrong key or tampered)")]
pub struct UnsealError;

const NONCE_LEN: usize = 12;

impl Keyring {
    pub fn new(master: &[u8; 32]) -> Self {
        let sealing_key = derive(master, b"hcc-identity/seal/v1");
        let mac_key = derive(master, b"hcc-identity/mac/v1");
        Self {
            sealing: Arc::new(Aes256Gcm::new(&sealing_key.into())),
            mac_key: Arc::new(mac_key),
        }
    }

    /// AES-256-GCM with a random nonce; `context` is bound as associated data so a sealed value
    /// cannot be moved to another row or purpose. Output: nonce || ciphertext+tag.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: context.as_bytes(),
        };
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce length cannot fail.
        if let Ok(ciphertext) = self.sealing.encrypt(Nonce::from_slice(&nonce), payload) {
            out.extend_from_slice(&ciphertext);
        }
        out
    }

    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, UnsealError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(UnsealError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.sealing
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| UnsealError)
    }

    /// HMAC-SHA256 of `data` under the purpose-labelled MAC key, URL-safe base64.
    pub fn mac(&self, label: &str, data: &[u8]) -> String {
        let tag = hmac_sha256(&derive(&self.mac_key, label.as_bytes()), data);
        URL_SAFE_NO_PAD.encode(tag)
    }

    pub fn verify_mac(&self, label: &str, data: &[u8], presented: &str) -> bool {
        constant_time_eq(self.mac(label, data).as_bytes(), presented.as_bytes())
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn derive(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    hmac_sha256(master, label)
}

/// argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1) on a fixed set of hasher threads
/// (`argon2-0` …, one per core by default), never on the async workers or the blocking pool. Each
/// thread reuses one working memory for every hash and gives it back after [`IDLE_RELEASE`]
/// without work, so a burst of logins costs `concurrency` × 19 MiB at most and nothing after it.
/// At most `concurrency` hashes are queued or running: further requests wait for a slot.
#[derive(Clone)]
pub struct PasswordHasherPool {
    /// One permit per hasher thread; a free permit means an idle thread (see [`Lease`]).
    permits: Arc<Semaphore>,
    idle: Arc<Mutex<Vec<HasherThread>>>,
    load: Arc<Load>,
    threads: usize,
    /// Requests waiting for a slot now, and how many may wait: one more is refused at once
    /// (503 with `Retry-After`) rather than left to time out in the queue.
    waiting: Arc<std::sync::atomic::AtomicUsize>,
    queue_limit: usize,
}

/// Counts a request among the waiting while it waits.
struct Waiting(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl std::fmt::Debug for PasswordHasherPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasherPool")
            .field("threads", &self.threads)
            .field("available", &self.permits.available_permits())
            .field("running", &self.load.running.load(Ordering::Relaxed))
            .field("peak", &self.load.peak.load(Ordering::Relaxed))
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the hashing pool is shut down")]
    Closed,
    /// More password checks are waiting than `password.hash_queue_limit` allows.
    #[error("too many password checks are waiting")]
    Busy,
}

/// How long a hasher thread keeps its working memory without work. Long enough to span the
/// pauses within a burst of logins, short enough that the memory is back soon after it.
const IDLE_RELEASE: Duration = Duration::from_secs(15);

impl PasswordHasherPool {
    /// Starts `concurrency` hasher threads (0: one per core). Their memory is allocated on each
    /// thread's first hash, so an idle server holds none.
    pub fn new(concurrency: usize) -> Self {
        let concurrency = if concurrency == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            concurrency
        };
        let params = Params::default();
        let dummy: Arc<str> = dummy_hash(&params).into();
        let load = Arc::new(Load::default());
        let mut threads = Vec::with_capacity(concurrency);
        for index in 0..concurrency {
            // Capacity 1: a thread serves one slot at a time (see `HashSlot::send`).
            let (jobs, queue) = mpsc::sync_channel(1);
            let hasher = Hasher {
                params: params.clone(),
                dummy: dummy.clone(),
                load: load.clone(),
            };
            match std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || hasher.run(&queue))
            {
                Ok(_) => threads.push(HasherThread { jobs }),
                Err(error) => tracing::error!(%error, "could not start an argon2 hasher thread"),
            }
        }
        let permits = Arc::new(Semaphore::new(threads.len()));
        if threads.is_empty() {
            permits.close();
        }
        Self {
            permits,
            threads: threads.len(),
            idle: Arc::new(Mutex::new(threads)),
            load,
            waiting: Arc::default(),
            queue_limit: usize::MAX,
        }
    }

    /// At most `limit` requests wait for a slot (beyond those hashing); more are refused with
    /// [`HashError::Busy`]. Unlimited unless set.
    pub fn with_queue_limit(mut self, limit: usize) -> Self {
        self.queue_limit = limit;
        self
    }

    /// How many password checks are waiting for a slot now (not counting those hashing).
    pub fn waiting(&self) -> usize {
        self.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        let slot = self.slot().await?;
        let (reply, answer) = oneshot::channel();
        slot.send(Job::Hash { password, reply })?;
        answer.await.map_err(|_| HashError::Closed)?
    }

    /// Verifies against a stored PHC string. With `None` (unknown account) a dummy hash is
    /// verified so the response takes as long as for a real account.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        self.slot().await?.verify(password, stored).await
    }

    /// Waits for the right to run one hash. Whoever holds the slot may decide, just before the
    /// hash, whether it should still run (the throttle's view of the client address at that
    /// moment), and record its outcome before the next waiting attempt decides.
    pub async fn slot(&self) -> Result<HashSlot, HashError> {
        let waiting = Waiting(self.waiting.clone());
        if self
            .waiting
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            >= self.queue_limit.max(1)
        {
            crate::metrics::password_check_refused();
            return Err(HashError::Busy);
        }
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashError::Closed)?;
        drop(waiting);
        // The permit guarantees an idle thread; the most recently used one still has its memory.
        let thread = lock(&self.idle).pop().ok_or(HashError::Closed)?;
        Ok(HashSlot {
            lease: Arc::new(Lease {
                thread: Some(thread),
                idle: self.idle.clone(),
                _permit: permit,
            }),
        })
    }
}

/// One of the pool's hashing slots (see [`PasswordHasherPool::slot`]), with a hasher thread of
/// its own, so its hash never waits for a thread; released when dropped.
pub struct HashSlot {
    lease: Arc<Lease>,
}

impl HashSlot {
    /// As [`PasswordHasherPool::verify`], in this slot.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Verify {
            password,
            stored,
            reply,
        })?;
        answer.await.map_err(|_| HashError::Closed)?
    }

    fn send(&self, job: Job) -> Result<(), HashError> {
        let thread = self.lease.thread.as_ref().ok_or(HashError::Closed)?;
        // The job holds the lease too: a request abandoned mid-hash keeps its thread and permit
        // until the hash is done, so no other slot is ever handed a busy thread. Only the same
        // slot hashing twice at once can find the queue full.
        thread
            .jobs
            .try_send((job, self.lease.clone()))
            .map_err(|e| match e {
                TrySendError::Full(_) => HashError::Hash("this slot is already hashing".into()),
                TrySendError::Disconnected(_) => HashError::Closed,
            })
    }
}

/// A hasher thread lent to one slot. Returned to the pool, and its permit released, when the
/// slot and every job it sent are done.
struct Lease {
    thread: Option<HasherThread>,
    idle: Arc<Mutex<Vec<HasherThread>>>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Before the permit (a later field) is released, so a permit always finds a thread.
        if let Some(thread) = self.thread.take() {
            lock(&self.idle).push(thread);
        }
    }
}

/// The pool's end of one hasher thread's queue. When the pool and its slots are gone, the queue
/// closes and the thread ends.
struct HasherThread {
    jobs: SyncSender<(Job, Arc<Lease>)>,
}

enum Job {
    Hash {
        password: SecretString,
        reply: oneshot::Sender<Result<String, HashError>>,
    },
    Verify {
        password: SecretString,
        stored: Option<String>,
        reply: oneshot::Sender<Result<bool, HashError>>,
    },
}

enum Answer {
    Hash(
        oneshot::Sender<Result<String, HashError>>,
        Result<String, HashError>,
    ),
    Verify(
        oneshot::Sender<Result<bool, HashError>>,
        Result<bool, HashError>,
    ),
}

impl Answer {
    /// A caller that gave up waiting is no longer there to hear it.
    fn send(self) {
        match self {
            Answer::Hash(to, answer) => {
                let _ = to.send(answer);
            }
            Answer::Verify(to, answer) => {
                let _ = to.send(answer);
            }
        }
    }
}

/// Hashes running now and the most at once since start.
#[derive(Default)]
struct Load {
    running: AtomicUsize,
    peak: AtomicUsize,
}

/// What one hasher thread owns.
struct Hasher {
    params: Params,
    dummy: Arc<str>,
    load: Arc<Load>,
}

impl Hasher {
    fn run(self, queue: &Receiver<(Job, Arc<Lease>)>) {
        let mut memory = Vec::new();
        loop {
            let next = if memory.is_empty() {
                queue.recv().map_err(|_| RecvTimeoutError::Disconnected)
            } else {
                queue.recv_timeout(IDLE_RELEASE)
            };
            let (job, lease) = match next {
                Ok(next) => next,
                Err(RecvTimeoutError::Timeout) => {
                    memory = Vec::new();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let running = self.load.running.fetch_add(1, Ordering::Relaxed) + 1;
            self.load.peak.fetch_max(running, Ordering::Relaxed);
            // A panic drops the reply (the caller sees `Closed`) but must not end the thread,
            // or every request lent this thread would fail from then on.
            let answer =
                std::panic::catch_unwind(AssertUnwindSafe(|| self.serve(job, &mut memory)));
            self.load.running.fetch_sub(1, Ordering::Relaxed);
            // Done before the caller hears: once it drops its slot, the thread is free again.
            drop(lease);
            match answer {
                Ok(answer) => answer.send(),
                Err(_) => {
                    tracing::error!("an argon2 hash panicked");
                    memory = Vec::new();
                }
            }
        }
    }

    fn serve(&self, job: Job, memory: &mut Vec<Block>) -> Answer {
        match job {
            Job::Hash { password, reply } => Answer::Hash(
                reply,
                self.hash(password.expose_secret().as_bytes(), memory),
            ),
            Job::Verify {
                password,
                stored,
                reply,
            } => {
                let (phc, real) = match &stored {
                    Some(phc) => (phc.as_str(), true),
                    None => (&*self.dummy, false),
                };
                let ok = self.verify(password.expose_secret().as_bytes(), phc, memory);
                Answer::Verify(reply, ok.map(|ok| ok && real))
            }
        }
    }

    fn hash(&self, password: &[u8], memory: &mut Vec<Block>) -> Result<String, HashError> {
        let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let len = self
            .params
            .output_len()
            .unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let mut out = [0u8; Output::MAX_LENGTH];
        let out = out
            .get_mut(..len)
            .ok_or_else(|| HashError::Hash("output too long".into()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        self.compute(&argon2, password, &salt, out, memory)
            .map_err(|e| HashError::Hash(e.to_string()))?;
        phc_string(&self.params, &salt, out).map_err(|e| HashError::Hash(e.to_string()))
    }

    /// As argon2's own `verify_password`: the stored string's algorithm, version, parameters and
    /// output length. A stored value that is not a PHC string is an error; one that cannot match
    /// (unknown algorithm, parameters argon2 refuses) is a wrong password.
    fn verify(
        &self,
        password: &[u8],
        phc: &str,
        memory: &mut Vec<Block>,
    ) -> Result<bool, HashError> {
        let stored = PasswordHash::new(phc).map_err(|e| HashError::Hash(e.to_string()))?;
        Ok(self.matches(password, &stored, memory).unwrap_or(false))
    }

    fn matches(
        &self,
        password: &[u8],
        stored: &PasswordHash<'_>,
        memory: &mut Vec<Block>,
    ) -> Option<bool> {
        let (salt, expected) = (stored.salt?, stored.hash.as_ref()?);
        let algorithm = Algorithm::try_from(stored.algorithm).ok()?;
        let version = match stored.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(stored).ok()?;
        let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
        let salt = salt.decode_b64(&mut salt_bytes).ok()?;
        let mut out = [0u8; Output::MAX_LENGTH];
        let out = out.get_mut(..expected.len())?;
        let argon2 = Argon2::new(algorithm, version, params);
        self.compute(&argon2, password, salt, out, memory).ok()?;
        Some(out.ct_eq(expected.as_bytes()).into())
    }

    /// Runs one hash in the thread's memory, allocating that on its first use. A stored hash
    /// made with more memory than the pool's parameters (an older setting) gets its own, for
    /// that hash only; one made with less fits in the thread's (argon2 uses the first blocks).
    fn compute(
        &self,
        argon2: &Argon2<'_>,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
        memory: &mut Vec<Block>,
    ) -> argon2::Result<()> {
        let own = self.params.block_count();
        let needed = argon2.params().block_count();
        if needed > own {
            return argon2.hash_password_into_with_memory(
                password,
                salt,
                out,
                argon2_memory(needed),
            );
        }
        if memory.len() < own {
            *memory = argon2_memory(own);
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut *memory)
    }
}

/// glibc raises its mmap threshold to the size of each mmapped block it frees, up to 32 MiB on
/// 64-bit (`DEFAULT_MMAP_THRESHOLD_MAX`): from the second 19 MiB allocation on, the memory
/// comes from a heap, which gives freed memory back only from its top and only above twice that
/// threshold, so it stays resident. Reserving more than 32 MiB (only the blocks used are
/// touched, so only they count in RSS) keeps every argon2 memory its own mapping, unmapped when
/// released.
const ALWAYS_MAPPED_BLOCKS: usize = 32 * 1024 + 1;

fn argon2_memory(blocks: usize) -> Vec<Block> {
    let mut memory = Vec::with_capacity(blocks.max(ALWAYS_MAPPED_BLOCKS));
    memory.resize(blocks, Block::default());
    memory
}

/// The PHC string `$argon2id$v=19$m=…,t=…,p=…$salt$hash`, exactly as argon2's `hash_password`.
fn phc_string(params: &Params, salt: &[u8], out: &[u8]) -> password_hash::Result<String> {
    let salt = SaltString::encode_b64(salt)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(out)?),
    };
    Ok(phc.to_string())
}

/// What an unknown account is verified against, so that takes as long as a real one: the pool's
/// parameters with a random salt and a random output, which no password produces.
fn dummy_hash(params: &Params) -> String {
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut out);
    phc_string(params, &salt, &out).unwrap_or_default()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_context() {
        let keys = Keyring::new(&[7u8; 32]);
        let sealed = keys.seal(b"JBSWY3DPEHPK3PXP", "otp:1");
        assert_eq!(
            keys.open(&sealed, "otp:1").ok(),
            Some(b"JBSWY3DPEHPK3PXP".to_vec())
        );
        assert!(keys.open(&sealed, "otp:2").is_err());
        assert!(Keyring::new(&[8u8; 32]).open(&sealed, "otp:1").is_err());
    }

    #[test]
    fn tokens_are_long_and_stored_hashed() {
        let token = OpaqueToken::generate();
        assert!(token.expose().len() >= 43);
        assert_eq!(token.hash().len(), 64);
        assert_ne!(token.hash(), token.expose());
        assert!(!format!("{token:?}").contains(token.expose()));
    }

    const PASSWORD: &str = "Correct-Horse-Battery-9";

    fn secret(password: &str) -> SecretString {
        SecretString::from(password)
    }

    fn argon2_hash(m_cost: u32, t_cost: u32) -> String {
        let params = Params::new(m_cost, t_cost, 1, None).unwrap();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(
                PASSWORD.as_bytes(),
                &SaltString::generate(rand::rngs::OsRng),
            )
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn argon2id_with_owasp_parameters_in_argon2s_own_format() {
        let pool = PasswordHasherPool::new(1);
        let phc = pool.hash(secret(PASSWORD)).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        assert_eq!(parsed.hash.unwrap().len(), 32);
        assert_eq!(parsed.to_string(), phc);
        // What argon2 itself verifies, so hashes stored by either stay valid for the other.
        assert!(
            Argon2::default()
                .verify_password(PASSWORD.as_bytes(), &parsed)
                .is_ok()
        );
        assert!(pool.verify(secret(PASSWORD), Some(phc)).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_made_by_argon2_itself_verify() {
        let pool = PasswordHasherPool::new(1);
        let phc = argon2_hash(Params::DEFAULT_M_COST, Params::DEFAULT_T_COST);
        assert!(pool.verify(secret(PASSWORD), Some(phc)).await.unwrap());
    }

    #[tokio::test]
    async fn a_wrong_password_fails() {
        let pool = PasswordHasherPool::new(1);
        let phc = pool.hash(secret(PASSWORD)).await.unwrap();
        assert!(
            !pool
                .verify(secret("Correct-Horse-Battery-8"), Some(phc))
                .await
                .unwrap()
        );
        let theirs = argon2_hash(Params::DEFAULT_M_COST, Params::DEFAULT_T_COST);
        assert!(!pool.verify(secret(""), Some(theirs)).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_with_other_parameters_still_verify() {
        let pool = PasswordHasherPool::new(1);
        // Less memory than the pool's (in the thread's memory) and more (in its own).
        for phc in [argon2_hash(8192, 1), argon2_hash(32 * 1024, 1)] {
            assert!(
                pool.verify(secret(PASSWORD), Some(phc.clone()))
                    .await
                    .unwrap()
            );
            assert!(!pool.verify(secret("wrong"), Some(phc)).await.unwrap());
        }
        // And the pool's own afterwards, in memory that held another hash before.
        let phc = pool.hash(secret(PASSWORD)).await.unwrap();
        assert!(pool.verify(secret(PASSWORD), Some(phc)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let pool = PasswordHasherPool::new(1);
        assert!(!pool.verify(secret("anything"), None).await.unwrap());
        assert!(!pool.verify(secret(""), None).await.unwrap());
        let dummy = dummy_hash(&Params::default());
        assert!(
            dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{dummy}"
        );
    }

    #[tokio::test]
    async fn a_stored_value_that_is_no_phc_string_is_an_error() {
        let pool = PasswordHasherPool::new(1);
        let outcome = pool.verify(secret(PASSWORD), Some("plain".into())).await;
        assert!(matches!(outcome, Err(HashError::Hash(_))), "{outcome:?}");
    }

    #[tokio::test]
    async fn a_burst_queues_for_the_pools_threads() {
        let pool = PasswordHasherPool::new(2);
        let phc = pool.hash(secret(PASSWORD)).await.unwrap();
        let mut burst = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (pool, phc) = (pool.clone(), phc.clone());
            burst.spawn(async move { pool.verify(secret(PASSWORD), Some(phc)).await });
        }
        let mut verified = 0;
        while let Some(outcome) = burst.join_next().await {
            assert!(outcome.unwrap().unwrap());
            verified += 1;
        }
        assert_eq!(verified, 50);
        let peak = pool.load.peak.load(Ordering::Relaxed);
        assert!((1..=2).contains(&peak), "{peak} hashes at once");
        assert_eq!(pool.permits.available_permits(), 2);
    }

    #[tokio::test]
    async fn at_most_one_slot_per_thread() {
        let pool = PasswordHasherPool::new(2);
        let (first, _second) = (pool.slot().await.unwrap(), pool.slot().await.unwrap());
        let wait = std::time::Duration::from_millis(50);
        assert!(tokio::time::timeout(wait, pool.slot()).await.is_err());
        drop(first);
        let third = tokio::time::timeout(wait, pool.slot())
            .await
            .unwrap()
            .unwrap();
        assert!(!third.verify(secret(PASSWORD), None).await.unwrap());
    }

    #[tokio::test]
    async fn an_abandoned_hash_keeps_its_thread_until_done() {
        let pool = PasswordHasherPool::new(1);
        let phc = pool.hash(secret(PASSWORD)).await.unwrap();
        let abandoned = pool.verify(secret(PASSWORD), Some(phc.clone()));
        let wait = std::time::Duration::from_millis(1);
        assert!(tokio::time::timeout(wait, abandoned).await.is_err());
        // The hash still runs (an argon2id hash takes far longer than 1 ms): no free slot.
        assert_eq!(pool.permits.available_permits(), 0);
        assert!(pool.verify(secret(PASSWORD), Some(phc)).await.unwrap());
    }
}
